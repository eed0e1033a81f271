using Jobs.Grains;
using Orleans.Runtime;

namespace Jobs.Silo;

/// <summary>The grains' view of the membership, over Orleans' membership service (no store read).</summary>
internal sealed class ClusterView(IClusterMembershipService membership, ILocalSiloDetails local) : IClusterView
{
    public string LocalSilo { get; } = local.SiloAddress.ToParsableString();

    public string LocalNode => local.Name;

    public IReadOnlyList<Jobs.Grains.ClusterMember> Members() =>
        [.. membership.CurrentSnapshot.Members.Values
            .OrderByDescending(m => m.SiloAddress.Generation)
            .Select(m => new Jobs.Grains.ClusterMember(m.SiloAddress.ToParsableString(), m.Name, StatusOf(m.Status)))];

    public bool IsGone(string silo)
    {
        SiloAddress address;
        try
        {
            address = SiloAddress.FromParsableString(silo);
        }
        catch (FormatException)
        {
            return true;
        }

        return membership.CurrentSnapshot.GetSiloStatus(address) is SiloStatus.Dead or SiloStatus.None;
    }

    private static NodeStatus StatusOf(SiloStatus status) => status switch
    {
        SiloStatus.Active => NodeStatus.Active,
        SiloStatus.Created or SiloStatus.Joining => NodeStatus.Joining,
        SiloStatus.ShuttingDown or SiloStatus.Stopping => NodeStatus.ShuttingDown,
        _ => NodeStatus.Dead,
    };
}
