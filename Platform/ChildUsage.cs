namespace Jobs.Platform;

/// <summary>
/// What a job's whole tree has used, read from its cgroup (Unix) or Job Object (Windows). A figure
/// this node cannot read is null.
/// </summary>
/// <param name="CpuTime">CPU time of every process of the tree, user and system, since the job started (ended processes included).</param>
/// <param name="MemoryBytes">Memory charged to the tree now: its processes' RAM and the page cache and kernel memory they caused (cgroup); committed memory (Windows).</param>
/// <param name="MemoryPeakBytes">The most <paramref name="MemoryBytes"/> has been since the job started.</param>
/// <param name="Tasks">Processes and threads of the tree now.</param>
/// <param name="IoReadBytes">Bytes read from block devices (page cache hits are not counted); on Windows, all reads.</param>
/// <param name="IoWriteBytes">Bytes written to block devices; on Windows, all writes.</param>
public sealed record ChildUsage(
    TimeSpan? CpuTime = null,
    long? MemoryBytes = null,
    long? MemoryPeakBytes = null,
    long? Tasks = null,
    long? IoReadBytes = null,
    long? IoWriteBytes = null)
{
    /// <summary>What stays meaningful once the tree is gone: CPU time, peak memory and IO, without the figures of now.</summary>
    public ChildUsage Final() => this with { MemoryBytes = null, Tasks = null };
}

/// <summary>
/// The share of a node that all of its jobs together may use (their budget, which leaves the server
/// and the system room), and what they use of it now.
/// </summary>
/// <param name="Used">What every job of the node uses together now.</param>
/// <param name="MaxProcesses">The processes and threads all jobs may have at once; null: no budget.</param>
/// <param name="MaxMemoryBytes">The memory all jobs may use together; null: no budget.</param>
/// <param name="CpuWeight">The weight of all jobs together against the rest of the machine when every core is busy (cgroup v2 units: 100 is a peer's share); null: none set.</param>
public sealed record JobsBudget(ChildUsage Used, long? MaxProcesses, long? MaxMemoryBytes, int? CpuWeight);
