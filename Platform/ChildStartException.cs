namespace Jobs.Platform;

/// <summary>The operating system refused to start the program; nothing was left running.</summary>
public sealed class ChildStartException : Exception
{
    /// <summary>Creates the exception from the OS error number and its text.</summary>
    public ChildStartException(string command, int errorNumber, string reason)
        : base($"cannot start '{command}': {reason}")
    {
        Command = command;
        ErrorNumber = errorNumber;
        Reason = reason;
    }

    /// <summary>The program that could not be started.</summary>
    public string Command { get; }

    /// <summary>The OS error number (errno on Unix, the Win32 error on Windows); 0 when no OS call failed (the launcher died before the program ran).</summary>
    public int ErrorNumber { get; }

    /// <summary>The OS error text, such as "No such file or directory".</summary>
    public string Reason { get; }

    /// <summary>The node has no room for another job now (no descriptor, no memory to start one); another node, or later, may.</summary>
    public bool NodeFull { get; init; }
}
