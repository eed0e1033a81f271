namespace Jobs.Platform;

/// <summary>How a child ended.</summary>
/// <param name="ExitCode">The exit code, when the child exited by itself.</param>
/// <param name="Signal">The signal number that ended it (Unix), when it was killed.</param>
/// <param name="SignalName">The symbolic name of <paramref name="Signal"/>, such as <c>SIGKILL</c>.</param>
public sealed record ChildExit(int? ExitCode, int? Signal, string? SignalName)
{
    /// <summary>True when the child was ended by a signal or terminated rather than exiting.</summary>
    public bool Killed => ExitCode is null;

    /// <summary>How many processes of the child's tree the kernel killed for going over its memory limit.</summary>
    public int OomKills { get; init; }

    /// <summary>What the tree used in all (CPU time, peak memory, IO), read once it was gone; null where it is not counted.</summary>
    public ChildUsage? Usage { get; init; }

    /// <summary>
    /// What went wrong while the tree was ended and its output read after the child's exit, for the
    /// server's log; null when nothing did. The exit itself is still as reported.
    /// </summary>
    public string? Problem { get; init; }
}
