using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Jobs.Grains;

/// <summary>
/// This node's copy of the uids <see cref="UidRegistryGrain"/> gave: a uid never changes once given,
/// so each identity costs one call to the registry per node, not one per job.
/// </summary>
public sealed class DynamicUids(IGrainFactory grains, IOptions<JobOptions> options)
{
    private readonly ConcurrentDictionary<string, uint> _known = new(StringComparer.Ordinal);

    /// <summary>The uid of <paramref name="identity"/>'s own.</summary>
    public async Task<uint> UidOfAsync(string identity)
    {
        if (_known.TryGetValue(identity, out uint uid))
        {
            return uid;
        }

        var accounts = options.Value.Accounts;
        uid = await grains.GetGrain<IUidRegistryGrain>(0).UidOfAsync(identity, accounts.FirstDynamicUid, accounts.LastDynamicUid);
        _known[identity] = uid;
        return uid;
    }
}
