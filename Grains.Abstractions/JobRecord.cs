namespace Jobs.Grains;

/// <summary>
/// What the cluster store keeps of a job, so that any node can answer for it once its own node is
/// gone: its status when it started and when it ended, and the silo that ran it; and what the silo
/// that ran it needs to answer for it again after deactivating it.
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

    /// <summary>
    /// Once the job has ended: its output's index, so that the silo that ran it can deactivate it and
    /// answer from its spool files later. Null while it runs.
    /// </summary>
    [Id(2)]
    public OutputIndex? Output { get; set; }
}
