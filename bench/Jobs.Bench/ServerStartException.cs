namespace Jobs.Bench;

/// <summary>The server could not be started: the bench cannot run (exit code 2).</summary>
internal sealed class ServerStartException(string message) : Exception(message);
