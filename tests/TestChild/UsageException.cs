namespace Jobs.TestChild;

/// <summary>Bad mode or arguments; reported as one stderr line with exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
