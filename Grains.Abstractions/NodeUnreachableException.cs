namespace Jobs.Grains;

/// <summary>
/// The job's node is in the cluster but does not answer for it now (it may be dying: once the
/// cluster declares it dead the job is <see cref="JobState.Lost"/>). Worth retrying.
/// </summary>
[GenerateSerializer, Alias("Jobs.NodeUnreachableException")]
public sealed class NodeUnreachableException(string message) : Exception(message);
