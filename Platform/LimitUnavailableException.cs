namespace Jobs.Platform;

/// <summary>A limit was asked for that this machine (or the server's rights on it) cannot enforce; nothing was started.</summary>
public sealed class LimitUnavailableException(string message) : Exception(message);
