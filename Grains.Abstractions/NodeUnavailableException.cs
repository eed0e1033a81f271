namespace Jobs.Grains;

/// <summary>The node asked for is unknown, dead, draining or takes no jobs; nothing was started.</summary>
[GenerateSerializer, Alias("Jobs.NodeUnavailableException")]
public sealed class NodeUnavailableException(string message) : Exception(message);
