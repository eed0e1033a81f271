namespace Jobs.Grains;

/// <summary>What a node says about itself: its jobs and its machine.</summary>
/// <param name="Name">Its <c>Orleans:NodeName</c>.</param>
/// <param name="Address">Its silo address, as Orleans parses it (<c>SiloAddress.ToParsableString</c>).</param>
[GenerateSerializer, Immutable, Alias("Jobs.NodeInfo")]
public sealed record NodeInfo(
    [property: Id(0)] string Name,
    [property: Id(1)] string Address)
{
    /// <summary>Started with <c>Orleans:AcceptJobs</c> on (the default).</summary>
    [Id(2)]
    public bool AcceptsJobs { get; init; }

    /// <summary>A drain has begun: no new jobs.</summary>
    [Id(3)]
    public bool Draining { get; init; }

    /// <summary>Jobs running on the node now.</summary>
    [Id(4)]
    public int RunningJobs { get; init; }

    /// <summary>CPU use of the machine, 0-100 over all cores.</summary>
    [Id(5)]
    public double CpuPercent { get; init; }

    /// <summary>Logical processors of the machine.</summary>
    [Id(6)]
    public int CpuCount { get; init; }

    /// <summary>Memory of the machine in use.</summary>
    [Id(7)]
    public long MemoryUsedBytes { get; init; }

    /// <summary>Memory of the machine in all.</summary>
    [Id(8)]
    public long MemoryTotalBytes { get; init; }

    /// <summary>When the node's silo started.</summary>
    [Id(9)]
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>How long the node has run, by its own clock.</summary>
    [Id(10)]
    public TimeSpan Uptime { get; init; }

    /// <summary>What all jobs of the node use together now; null where the node counts nothing.</summary>
    [Id(11)]
    public JobUsage? JobsUsed { get; init; }

    /// <summary>The processes and threads all jobs of the node may have at once; null: no budget.</summary>
    [Id(12)]
    public long? JobsMaxProcesses { get; init; }

    /// <summary>The memory all jobs of the node may use together; null: no budget.</summary>
    [Id(13)]
    public long? JobsMaxMemoryBytes { get; init; }

    /// <summary>The CPU weight of all jobs together against the rest of the machine (cgroup v2 units, 100 a peer's share); null: none set.</summary>
    [Id(14)]
    public int? JobsCpuWeight { get; init; }
}
