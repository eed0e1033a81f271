namespace Jobs.Grains;

/// <summary>What the job registry keeps in the cluster store.</summary>
[GenerateSerializer, Alias("Jobs.RegistryRecord")]
public sealed class RegistryRecord
{
    /// <summary>Finished jobs, oldest first.</summary>
    [Id(0)]
    public List<string> Finished { get; set; } = [];

    /// <summary>When each of <see cref="Finished"/> ended, in the same order.</summary>
    [Id(2)]
    public List<DateTimeOffset> FinishedAt { get; set; } = [];

    /// <summary>Identities that have jobs.</summary>
    [Id(1)]
    public HashSet<string> Owners { get; set; } = new(StringComparer.Ordinal);
}
