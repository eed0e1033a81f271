namespace Jobs.Grains;

/// <summary>The node has no room for another job now (it holds as many open files as it may); nothing was started.</summary>
[GenerateSerializer, Alias("Jobs.NodeFullException")]
public sealed class NodeFullException(string message) : Exception(message);
