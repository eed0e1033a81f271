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

    /// <summary>The number of a signal given as <c>SIGTERM</c>, <c>TERM</c>, <c>term</c> or <c>15</c>; false when there is none.</summary>
    public static bool TryParse(string text, out int signal)
    {
        signal = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int number))
        {
            signal = number;
            return number is > 0 and < 65;
        }

        string name = text.Trim().ToUpperInvariant();
        name = name.StartsWith("SIG", StringComparison.Ordinal) ? name : "SIG" + name;
        int index = Array.IndexOf(Names, name);
        signal = Math.Max(index, 0);
        return index > 0;
    }

    /// <summary>The name of a signal number, such as <c>SIGKILL</c> for 9; <c>SIGRTMIN+n</c> for real-time signals.</summary>
    public static string NameOf(int signal) => signal switch
    {
        > 0 and < 32 => Names[signal],
        >= 34 and <= 64 => $"SIGRTMIN+{signal - 34}",
        _ => $"signal {signal}",
    };
}
