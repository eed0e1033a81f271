namespace Jobs.Platform.Unix;

/// <summary>Linux signal numbers and their names, for status lines people read.</summary>
public static class SignalNames
{
    private static readonly string[] Names =
    [
        "", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL",
        "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT",
        "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF",
        "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
    ];

    /// <summary>The name of a signal number, such as <c>SIGKILL</c> for 9; <c>SIGRTMIN+n</c> for real-time signals.</summary>
    public static string NameOf(int signal) => signal switch
    {
        > 0 and < 32 => Names[signal],
        >= 34 and <= 64 => $"SIGRTMIN+{signal - 34}",
        _ => $"signal {signal}",
    };
}
