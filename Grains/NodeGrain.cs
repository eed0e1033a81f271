using Jobs.Platform;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Placement;

namespace Jobs.Grains;

/// <summary>One node: its jobs, its machine, and its drain. Lives on the silo its key names.</summary>
[NodePlacement]
[Immovable]
[Reentrant]
public sealed class NodeGrain(
    NodeState node,
    IClusterView cluster,
    MachineStatistics machine,
    IChildLauncher launcher,
    INodeLifetime lifetime,
    IOptions<JobOptions> options,
    ILogger<NodeGrain> logger) : Grain, INodeGrain
{
    // Followers poll a quiet job every second; two seconds let each see its job's end.
    private static readonly TimeSpan FollowersLinger = TimeSpan.FromSeconds(2);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // The placement director puts this activation on the silo of its key; refuse anything else.
        return this.GetPrimaryKeyString() == cluster.LocalSilo
            ? Task.CompletedTask
            : throw new NodeUnavailableException($"node {this.GetPrimaryKeyString()} is not this silo ({cluster.LocalSilo})");
    }

    public Task<NodeInfo> GetInfoAsync() => Task.FromResult(Info());

    public Task<NodeInfo> DrainAsync()
    {
        if (node.BeginDrain())
        {
            DelayDeactivation(TimeSpan.MaxValue);
            logger.LogWarning(
                "Node {Node} drains: no new jobs; {Running} running jobs get {Timeout} to end, then the node leaves the cluster",
                cluster.LocalNode, node.RunningJobs, options.Value.DrainTimeout);
            _ = DrainJobsAsync();
        }

        return Task.FromResult(Info());
    }

    private async Task DrainJobsAsync()
    {
        var deadline = DateTime.UtcNow + options.Value.DrainTimeout;
        while (node.RunningJobs > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }

        var left = node.Running;
        if (left.Count > 0)
        {
            logger.LogWarning("Node {Node}: the drain timeout ended with {Count} jobs running; killing them", cluster.LocalNode, left.Count);
            await Task.WhenAll(left.Select(async id =>
            {
                try
                {
                    await GrainFactory.GetGrain<IJobGrain>(id).KillAsync(options.Value.DefaultKillGrace);
                }
                catch (Exception e)
                {
                    // The silo's stop kills every job process anyway.
                    logger.LogWarning(e, "Node {Node}: killing job {JobId} at the end of the drain failed", cluster.LocalNode, id);
                }
            }));

            // A kill answers before a long grace is out; the node leaves once its jobs have ended.
            var killed = DateTime.UtcNow + options.Value.DefaultKillGrace + TimeSpan.FromSeconds(10);
            while (node.RunningJobs > 0 && DateTime.UtcNow < killed)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200));
            }
        }

        // Followers of the last jobs read their end from this node: give them a moment before it goes.
        await Task.Delay(FollowersLinger);
        logger.LogWarning("Node {Node} drained; leaving the cluster", cluster.LocalNode);
        lifetime.Leave();
    }

    private NodeInfo Info()
    {
        var load = machine.Current;
        JobsBudget? budget = null;
        try
        {
            budget = launcher.Budget();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning(e, "Node {Node}: reading the jobs' budget and usage failed", cluster.LocalNode);
        }

        return new NodeInfo(cluster.LocalNode, cluster.LocalSilo)
        {
            AcceptsJobs = node.AcceptsJobs,
            Draining = node.Draining,
            RunningJobs = node.RunningJobs,
            CpuPercent = load.CpuPercent,
            CpuCount = load.CpuCount,
            MemoryUsedBytes = load.MemoryUsedBytes,
            MemoryTotalBytes = load.MemoryTotalBytes,
            StartedAt = node.StartedAt,
            Uptime = node.Uptime,
            JobsUsed = budget is null ? null : JobUsages.From(budget.Used),
            JobsMaxProcesses = budget?.MaxProcesses,
            JobsMaxMemoryBytes = budget?.MaxMemoryBytes,
            JobsCpuWeight = budget?.CpuWeight,
        };
    }
}
