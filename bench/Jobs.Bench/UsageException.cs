namespace Jobs.Bench;

/// <summary>A bad command line; reported in one line with the usage, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
