namespace Jobs.Gateway;

/// <summary>A request whose fields are not acceptable, whatever the state of the server.</summary>
public sealed class InvalidRequestException(string message) : Exception(message);
