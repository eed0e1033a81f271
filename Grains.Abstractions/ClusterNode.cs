namespace Jobs.Grains;

/// <summary>A node as the cluster's membership sees it, with what it says about itself when it answered.</summary>
/// <param name="Name">Its <c>Orleans:NodeName</c>.</param>
/// <param name="Address">Its silo address (<c>SiloAddress.ToParsableString</c>).</param>
/// <param name="Status">Its membership status, or <see cref="NodeStatus.Draining"/>.</param>
/// <param name="Info">What it said about itself; null when it is dead or did not answer in time.</param>
[GenerateSerializer, Immutable, Alias("Jobs.ClusterNode")]
public sealed record ClusterNode(
    [property: Id(0)] string Name,
    [property: Id(1)] string Address,
    [property: Id(2)] NodeStatus Status,
    [property: Id(3)] NodeInfo? Info)
{
    /// <summary>The node takes new jobs now.</summary>
    public bool TakesJobs => Status == NodeStatus.Active && Info is { AcceptsJobs: true, Draining: false };
}
