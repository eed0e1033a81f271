namespace Jobs.Grains;

/// <summary>
/// One node of the cluster, always activated on that node's silo. The key is the silo's address
/// (<c>SiloAddress.ToParsableString</c>); a call to a node that is gone fails.
/// </summary>
public interface INodeGrain : IGrainWithStringKey
{
    /// <summary>The node's jobs and machine now.</summary>
    [ResponseTimeout("00:00:05")]
    Task<NodeInfo> GetInfoAsync();

    /// <summary>
    /// Starts a drain: no new jobs; the running ones get <c>Jobs:DrainTimeout</c> to end, then are
    /// killed; then the node leaves the cluster. Answers at once; a second call changes nothing.
    /// </summary>
    Task<NodeInfo> DrainAsync();
}
