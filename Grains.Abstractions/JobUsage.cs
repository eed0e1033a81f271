namespace Jobs.Grains;

/// <summary>What a job's whole tree uses (or, once it has ended, used in all); a figure its node cannot read is null.</summary>
[GenerateSerializer, Immutable, Alias("Jobs.JobUsage")]
public sealed record JobUsage
{
    /// <summary>CPU time of every process of the tree, user and system, ended ones included.</summary>
    [Id(0)]
    public TimeSpan? CpuTime { get; init; }

    /// <summary>Memory charged to the tree now (null once it has ended).</summary>
    [Id(1)]
    public long? MemoryBytes { get; init; }

    /// <summary>The most memory the tree has held at once.</summary>
    [Id(2)]
    public long? MemoryPeakBytes { get; init; }

    /// <summary>Processes and threads of the tree now (null once it has ended).</summary>
    [Id(3)]
    public long? Tasks { get; init; }

    /// <summary>Bytes read from block devices.</summary>
    [Id(4)]
    public long? IoReadBytes { get; init; }

    /// <summary>Bytes written to block devices.</summary>
    [Id(5)]
    public long? IoWriteBytes { get; init; }
}
