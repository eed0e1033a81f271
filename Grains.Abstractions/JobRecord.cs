namespace Jobs.Grains;

/// <summary>
/// What the cluster store keeps of a job, so that any node can answer for it once its own node is
/// gone: its status when it started and when it ended, and the silo that ran it.
/// </summary>
[GenerateSerializer, Alias("Jobs.JobRecord")]
public sealed class JobRecord
{
    /// <summary>The job's latest recorded status (null: no such job).</summary>
    [Id(0)]
    public JobStatus? Status { get; set; }

    /// <summary>The silo that runs or ran the job (<c>SiloAddress.ToParsableString</c>).</summary>
    [Id(1)]
    public string Silo { get; set; } = string.Empty;
}
