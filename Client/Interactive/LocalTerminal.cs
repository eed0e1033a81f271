using Jobs.Protos;

namespace Jobs.Client.Interactive;

/// <summary>
/// The terminal this CLI runs in, while a person types to a job's terminal: raw mode, so that
/// every key reaches the job as its own terminal would send it (Ctrl+C as byte 0x03, not as
/// SIGINT here), the window size and its changes, and the standard streams as plain bytes.
/// </summary>
/// <remarks>
/// Nothing here is touched before a command needs a terminal, so that <c>jobs --version</c> and
/// every other command start as cheaply as before. Raw mode is undone by <see cref="Restore"/>,
/// which every exit path calls: the command's own <c>finally</c>, process exit, and SIGTERM, SIGHUP
/// and SIGQUIT (which end the process before any <c>finally</c> would run). Only a SIGKILL of the
/// CLI leaves the terminal raw (<c>reset</c> or <c>stty sane</c> mends it).
/// </remarks>
internal abstract class LocalTerminal : IDisposable
{
    // What a terminal that reports no size (0x0, as some serial lines do) is taken for.
    private static readonly TerminalSize Fallback = new() { Rows = 24, Columns = 80 };

    /// <summary>Whether this process's stdin is a terminal (and not a pipe or a file).</summary>
    public static bool StdinIsTerminal() =>
        OperatingSystem.IsWindows() ? WindowsTerminal.StdinIsConsole() : UnixTerminal.IsTerminal(0);

    /// <summary>The terminal of stdin; null when stdin is not one.</summary>
    public static LocalTerminal? Open()
    {
        if (!StdinIsTerminal())
        {
            return null;
        }

        return OperatingSystem.IsWindows() ? new WindowsTerminal() : new UnixTerminal();
    }

    /// <summary>The size of a terminal of stdin or stdout, if either is one; 24 x 80 otherwise.</summary>
    public static TerminalSize CurrentSizeOrDefault()
    {
        TerminalSize? size = OperatingSystem.IsWindows() ? WindowsTerminal.ReadSize() : UnixTerminal.ReadSize();
        return size is { Rows: > 0 and <= ushort.MaxValue, Columns: > 0 and <= ushort.MaxValue } ? size : Fallback.Clone();
    }

    /// <summary>The window's size now, in character cells.</summary>
    public TerminalSize Size => CurrentSizeOrDefault();

    /// <summary>Puts the terminal in raw mode until <see cref="Restore"/>; safe to call again after a restore.</summary>
    /// <exception cref="CliException">When the terminal refuses its settings.</exception>
    public abstract void EnterRawMode();

    /// <summary>Gives the terminal back the settings it had; idempotent and safe from any thread.</summary>
    public abstract void Restore();

    /// <summary>Calls <paramref name="resized"/> with the new size each time the window changes size, until disposed.</summary>
    public abstract IDisposable WatchResize(Action<TerminalSize> resized);

    /// <summary>Stdin as bytes, read as they come (not through <see cref="Console"/>'s line editor).</summary>
    public abstract Stream OpenInput();

    /// <summary>Stdout as bytes, written as they are (not through <see cref="Console"/>).</summary>
    public abstract Stream OpenOutput();

    /// <summary>Stderr as bytes, for notices while the terminal is raw.</summary>
    public abstract Stream OpenError();

    public void Dispose()
    {
        Restore();
        GC.SuppressFinalize(this);
    }
}
