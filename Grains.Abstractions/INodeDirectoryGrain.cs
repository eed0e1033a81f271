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
    /// running jobs (ties: the least CPU use), as the nodes last said (at most about a second ago),
    /// counting the jobs placed since; never waits on a node that does not answer.
    /// </summary>
    /// <exception cref="NodeUnavailableException">No such live node takes jobs; the message names those that do.</exception>
    [ResponseTimeout("00:00:10")]
    Task<ClusterNode> PickAsync(string? name);

    /// <summary>
    /// As <see cref="PickAsync"/>, from what the nodes answer now rather than the placement view:
    /// for a Run whose pick went to a node that had begun to drain or had left since the view was taken.
    /// </summary>
    /// <exception cref="NodeUnavailableException">No such live node takes jobs; the message names those that do.</exception>
    [ResponseTimeout("00:00:10")]
    Task<ClusterNode> PickNowAsync(string? name);
}
