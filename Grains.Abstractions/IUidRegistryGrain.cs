namespace Jobs.Grains;

/// <summary>
/// The uid of each identity that no configured account is mapped to: given once, from a range, and
/// kept in the cluster store, so that an identity has the same uid on every node and across restarts
/// of a cluster on Redis, and two identities never share one. One per cluster (key 0).
/// </summary>
public interface IUidRegistryGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// The uid of <paramref name="identity"/>, given now from <paramref name="first"/>..<paramref name="last"/>
    /// if it has none yet (the same range on every call; a uid given from another range is kept).
    /// </summary>
    /// <exception cref="AccountUnavailableException">Every uid of the range belongs to another identity.</exception>
    Task<uint> UidOfAsync(string identity, uint first, uint last);
}
