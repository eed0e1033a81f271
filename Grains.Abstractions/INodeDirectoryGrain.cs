namespace Jobs.Grains;

/// <summary>
/// The cluster's nodes, answered by the silo the call reaches from its own view of the membership
/// (no store read). Key 0.
/// </summary>
public interface INodeDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Every node: the live ones, then the newest dead entry of each name no live node has.</summary>
    [ResponseTimeout("00:00:10")]
    Task<ClusterNode[]> ListAsync();

    /// <summary>
    /// The node a new job goes to: the one named, or the live node that takes jobs with the fewest
    /// running jobs (ties: the least CPU use).
    /// </summary>
    /// <exception cref="NodeUnavailableException">No such live node takes jobs; the message names those that do.</exception>
    [ResponseTimeout("00:00:10")]
    Task<ClusterNode> PickAsync(string? name);
}
