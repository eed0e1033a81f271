namespace Jobs.Grains;

/// <summary>One member of the cluster as the membership knows it.</summary>
/// <param name="Silo">Its address (<c>SiloAddress.ToParsableString</c>).</param>
/// <param name="Name">Its node name.</param>
/// <param name="Status">Its membership status (never <see cref="NodeStatus.Draining"/>: that is the node's own word).</param>
public sealed record ClusterMember(string Silo, string Name, NodeStatus Status);
