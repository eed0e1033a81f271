namespace Jobs.Grains;

/// <summary>
/// This silo's view of the cluster's membership, as grains need it (the silo host implements it
/// over Orleans' membership service; no store is read).
/// </summary>
public interface IClusterView
{
    /// <summary>This silo's address (<c>SiloAddress.ToParsableString</c>).</summary>
    string LocalSilo { get; }

    /// <summary>This silo's node name.</summary>
    string LocalNode { get; }

    /// <summary>Every member the membership knows, dead ones included, newest first.</summary>
    IReadOnlyList<ClusterMember> Members();

    /// <summary>True when the silo left the cluster or was declared dead (or is not known at all).</summary>
    bool IsGone(string silo);
}
