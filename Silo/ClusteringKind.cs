namespace Jobs.Silo;

/// <summary>How silos find each other.</summary>
public enum ClusteringKind
{
    /// <summary>One silo on loopback; everything in memory.</summary>
    Localhost,

    /// <summary>Orleans' membership on Redis; job records, owners and the registry there too.</summary>
    Redis,
}
