namespace Jobs.Gateway;

/// <summary>A job id that is not a UUIDv7 string.</summary>
public sealed class InvalidJobIdException(string message) : Exception(message);
