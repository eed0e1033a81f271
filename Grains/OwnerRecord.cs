namespace Jobs.Grains;

/// <summary>What an owner grain keeps in the cluster store: its running jobs (with their silos) and all its jobs.</summary>
[GenerateSerializer, Alias("Jobs.OwnerRecord")]
public sealed class OwnerRecord
{
    /// <summary>Running jobs by id, each with the silo that runs it.</summary>
    [Id(0)]
    public Dictionary<string, string> Running { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Every job of the owner, running or finished, until forgotten.</summary>
    [Id(1)]
    public HashSet<string> Jobs { get; set; } = new(StringComparer.Ordinal);
}
