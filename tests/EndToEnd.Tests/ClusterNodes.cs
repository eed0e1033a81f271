using Google.Protobuf.WellKnownTypes;
using Jobs.Protos;

namespace Jobs.EndToEnd.Tests;

/// <summary>Nodes as a cluster's Nodes call describes them, for fake servers.</summary>
public static class ClusterNodes
{
    public const long GiB = 1L << 30;
    public const long MiB = 1L << 20;

    /// <summary>A node that answered with its figures.</summary>
    public static Node Answered(string name, NodeStatus status, int runningJobs = 0, double cpuPercent = 10, int cpuCount = 4, long memoryUsed = GiB, long memoryTotal = 4 * GiB, TimeSpan? uptime = null, bool acceptsJobs = true) => new()
    {
        Name = name,
        Address = "10.0.0." + name[^1] + ":11111",
        Status = status,
        AcceptsJobs = acceptsJobs && status == NodeStatus.Active,
        RunningJobs = runningJobs,
        CpuPercent = cpuPercent,
        CpuCount = cpuCount,
        MemoryUsedBytes = memoryUsed,
        MemoryTotalBytes = memoryTotal,
        StartedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow - (uptime ?? TimeSpan.FromHours(1))),
        Uptime = Duration.FromTimeSpan(uptime ?? TimeSpan.FromHours(1)),
        Answered = true,
    };

    /// <summary>A node with no figures: it did not answer in time, or it is gone.</summary>
    public static Node Silent(string name, NodeStatus status) => new()
    {
        Name = name,
        Address = "10.0.0." + name[^1] + ":11111",
        Status = status,
        AcceptsJobs = status == NodeStatus.Active,
    };

    public static NodesResponse Answer(params Node[] nodes) => new() { Nodes = { nodes } };
}
