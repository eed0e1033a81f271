namespace Jobs.Client;

/// <summary>
/// A failure whose message is already fit for the user and whose exit code is known where it is
/// thrown (unreadable credential files, a server that breaks the protocol).
/// </summary>
internal sealed class CliException : Exception
{
    public CliException(int exitCode, string message)
        : base(message)
    {
        ExitCode = exitCode;
    }

    public CliException(int exitCode, string message, Exception innerException)
        : base(message, innerException)
    {
        ExitCode = exitCode;
    }

    public int ExitCode { get; }
}
