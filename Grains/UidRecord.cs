namespace Jobs.Grains;

/// <summary>What the uid registry keeps in the cluster store: the uid given to each identity.</summary>
[GenerateSerializer, Alias("Jobs.UidRecord")]
public sealed class UidRecord
{
    /// <summary>Identity to uid; a uid is in it at most once.</summary>
    [Id(0)]
    public Dictionary<string, uint> Uids { get; set; } = new(StringComparer.Ordinal);
}
