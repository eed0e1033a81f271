namespace Jobs.Grains;

/// <summary>A request whose fields are not acceptable, whatever the state of the server (an unknown signal, a negative offset).</summary>
[GenerateSerializer, Alias("Jobs.InvalidRequestException")]
public sealed class InvalidRequestException(string message) : Exception(message);
