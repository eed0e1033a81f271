using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Jobs.Grains;

/// <summary>
/// Gives each identity without a mapped account a uid of its own, once, and keeps it in the cluster
/// store (Redis in a cluster), written before the uid is answered. Not reentrant: one allocation
/// at a time, so two identities never get the same uid. An identity's first pick is a hash of its
/// name into the range, then the next free uid: so a single server, whose store is memory only,
/// gives most identities the same uid again after a restart too.
/// </summary>
public sealed class UidRegistryGrain(
    [PersistentState("uids", JobStorage.Name)] IPersistentState<UidRecord> state,
    ILogger<UidRegistryGrain> logger) : Grain, IUidRegistryGrain
{
    public async Task<uint> UidOfAsync(string identity, uint first, uint last)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var uids = state.State.Uids;
        if (uids.TryGetValue(identity, out uint known))
        {
            return known;
        }

        var taken = new HashSet<uint>(uids.Values);
        ulong size = (ulong)last - first + 1;
        ulong start = BitConverter.ToUInt64(SHA256.HashData(Encoding.UTF8.GetBytes(identity))) % size;
        for (ulong i = 0; i < size; i++)
        {
            uint uid = (uint)(first + ((start + i) % size));
            if (taken.Contains(uid))
            {
                continue;
            }

            uids[identity] = uid;
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                // Not given unless kept: another node would give it again.
                uids.Remove(identity);
                throw;
            }

            logger.LogInformation("Identity {Identity} runs its jobs as uid {Uid}", identity, uid);
            return uid;
        }

        throw new AccountUnavailableException(
            $"no uid is left for '{identity}': all {size} of {first}..{last} belong to other identities (Jobs:Accounts:FirstDynamicUid, LastDynamicUid)");
    }
}
