namespace Jobs.Grains;

/// <summary>What an owner grain keeps in the cluster store: its running jobs (with their silos), all its jobs, and the request ids that started them.</summary>
[GenerateSerializer, Alias("Jobs.OwnerRecord")]
public sealed class OwnerRecord
{
    /// <summary>Running jobs by id, each with the silo that runs it.</summary>
    [Id(0)]
    public Dictionary<string, string> Running { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Every job of the owner, running or finished, until forgotten.</summary>
    [Id(1)]
    public HashSet<string> Jobs { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The job each client-chosen request id started, while that job is kept.</summary>
    [Id(2)]
    public Dictionary<string, string> Requests { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The request id of each job that was started with one (the reverse of <see cref="Requests"/>).</summary>
    [Id(3)]
    public Dictionary<string, string> RequestOf { get; set; } = new(StringComparer.Ordinal);
}
