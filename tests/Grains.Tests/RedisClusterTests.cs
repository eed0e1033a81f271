using Jobs.Gateway;
using Jobs.TestChild;
using Jobs.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Metadata;
using Orleans.Runtime;
using Orleans.TestingHost;

namespace Jobs.Grains.Tests;

/// <summary>
/// Multi-silo clusters on real Redis membership: placement by node and by load, no migration, and
/// the owners' and registry's state after a silo is stopped or killed. Each test has a cluster of its own.
/// </summary>
public sealed class RedisClusterTests : IAsyncLifetime, IClassFixture<RedisInstalled>
{
    // Membership probes every 2 s, 3 missed declare a silo dead: well within this on a loaded machine.
    private static readonly TimeSpan DeathDetection = TimeSpan.FromSeconds(40);

    private readonly List<int> _pids = [];
    private readonly List<(IClusterClient Client, string Id)> _jobs = [];
    private RedisTestCluster? _cluster;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            foreach (var (client, id) in _jobs)
            {
                try
                {
                    await client.GetGrain<IJobGrain>(id).KillAsync(TimeSpan.Zero).WaitAsync(TimeSpan.FromSeconds(10));
                }
                catch (Exception)
                {
                    // Its silo is gone; the process is killed by pid below.
                }
            }

            await _cluster.DisposeAsync();
        }

        // A silo killed in this process leaves its jobs' processes behind.
        foreach (int pid in _pids)
        {
            Processes.KillIfAlive(pid);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task A_job_runs_on_the_node_asked_for_and_without_one_on_the_node_with_the_fewest_jobs()
    {
        var cluster = _cluster = await RedisTestCluster.StartAsync(silos: 2);
        var secondary = cluster.Cluster.Silos[1];
        string named = RedisTestCluster.NodeName(secondary);

        var onNamed = await RunAsync("alice", named);
        var spread = new List<JobStatus>();
        for (int i = 0; i < 3; i++)
        {
            spread.Add(await RunAsync("alice"));
        }

        Assert.Equal(named, onNamed.Node);
        var perNode = spread.Append(onNamed).GroupBy(s => s.Node).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(2, perNode.Count);
        Assert.All(perNode.Values, count => Assert.Equal(2, count));
        var nodes = await cluster.Client.GetGrain<INodeDirectoryGrain>(0).ListAsync();
        Assert.All(nodes, n => Assert.Equal(2, n.Info!.RunningJobs));
        await Assert.ThrowsAsync<NodeUnavailableException>(() => RunAsync("alice", "no-such-node"));
    }

    [Fact(Timeout = 120_000)]
    public async Task Runs_that_arrive_together_spread_over_the_nodes()
    {
        var cluster = _cluster = await RedisTestCluster.StartAsync(silos: 2);
        var directory = cluster.Client.GetGrain<INodeDirectoryGrain>(0);

        // 40 Runs' picks at once, before any of their jobs could start: both nodes are idle in
        // every answer, and only counting what was placed since spreads them.
        var picked = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => directory.PickAsync(null)));

        var perNode = picked.GroupBy(n => n.Name).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(2, perNode.Count);
        Assert.All(perNode.Values, count => Assert.InRange(count, 16, 24));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_node_that_does_not_answer_delays_no_run_and_gets_none_once_the_view_knows()
    {
        var cluster = _cluster = await RedisTestCluster.StartAsync(silos: 2);
        var primary = cluster.Cluster.Silos[0];
        var secondary = cluster.Cluster.Silos[1];
        await RunAsync("alice");

        // The secondary still runs jobs; it only takes 20 s to say how loaded it is.
        StalledNodeInfo.Stalls[RedisTestCluster.Address(secondary)] = TimeSpan.FromSeconds(20);
        try
        {
            await Task.Delay(NodeLoads.MaxAge);
            var times = new List<TimeSpan>();
            var nodes = new List<string>();
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(4);
            while (DateTime.UtcNow < until)
            {
                var watch = System.Diagnostics.Stopwatch.StartNew();
                var status = await RunAsync("alice");
                times.Add(watch.Elapsed);
                nodes.Add(status.Node);
                await Task.Delay(200);
            }

            // Asking a node that does not answer takes 2 s (its timeout): no Run waited for it.
            Assert.All(times, t => Assert.True(t < TimeSpan.FromSeconds(1.5), $"a Run took {t.TotalMilliseconds:F0} ms: {string.Join(", ", times.Select(x => x.TotalMilliseconds.ToString("F0")))}"));

            // Once the view has it without figures (the ask timed out, 2 s), it gets no job.
            Assert.Equal(RedisTestCluster.NodeName(primary), nodes[^1]);
            Assert.Equal(RedisTestCluster.NodeName(primary), nodes[^2]);
        }
        finally
        {
            StalledNodeInfo.Stalls.TryRemove(RedisTestCluster.Address(secondary), out _);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task A_job_grain_is_immovable_and_stays_on_its_node_while_the_cluster_changes()
    {
        var cluster = _cluster = await RedisTestCluster.StartAsync(silos: 2);
        var secondary = cluster.Cluster.Silos[1];
        var started = await RunAsync("alice", RedisTestCluster.NodeName(secondary));

        var manifest = ((InProcessSiloHandle)cluster.Cluster.Silos[0]).SiloHost.Services.GetRequiredService<IClusterManifestProvider>().Current;
        var jobType = manifest.AllGrainManifests.SelectMany(m => m.Grains).Single(g => g.Value.Properties.TryGetValue(WellKnownGrainTypeProperties.TypeName, out var name) && name == nameof(JobGrain));
        await cluster.Cluster.StartAdditionalSiloAsync();
        await Task.Delay(TimeSpan.FromSeconds(2));
        var later = await cluster.Client.GetGrain<IJobGrain>(started.JobId).GetStatusAsync();

        Assert.True(jobType.Value.Properties.ContainsKey(WellKnownGrainTypeProperties.Immovable), "JobGrain is not marked immovable");
        Assert.Equal((JobState.Running, started.Pid, started.Node), (later.State, later.Pid, later.Node));
    }

    [Theory(Timeout = 120_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_owners_jobs_and_running_count_and_the_registry_survive_the_silo_that_held_them(bool kill)
    {
        var cluster = _cluster = await RedisTestCluster.StartAsync(silos: 2, maxRunningJobsPerOwner: 2);
        var primary = cluster.Cluster.Silos[0];
        var secondary = cluster.Cluster.Silos[1];

        // The owner's and the registry's activations on the silo that will go; the jobs elsewhere.
        await RedisTestCluster.OnSiloAsync(secondary, () => cluster.Client.GetGrain<IOwnerGrain>("alice").JobsAsync());
        await RedisTestCluster.OnSiloAsync(secondary, async () =>
        {
            await cluster.Client.GetGrain<IJobRegistryGrain>(0).PingAsync();
            return true;
        });
        var first = await RunAsync("alice", RedisTestCluster.NodeName(primary));
        var second = await RunAsync("alice", RedisTestCluster.NodeName(primary));
        await Assert.ThrowsAsync<JobQuotaExceededException>(() => RunAsync("alice", RedisTestCluster.NodeName(primary)));

        if (kill)
        {
            await cluster.Cluster.KillSiloAsync(secondary);
            await cluster.WaitDeclaredDeadAsync(secondary, DeathDetection);
        }
        else
        {
            await cluster.Cluster.StopSiloAsync(secondary);
        }

        var jobs = await cluster.Client.GetGrain<IOwnerGrain>("alice").JobsAsync();
        var owners = await cluster.Client.GetGrain<IJobRegistryGrain>(0).OwnersAsync();
        await Assert.ThrowsAsync<JobQuotaExceededException>(() => RunAsync("alice"));
        await cluster.Client.GetGrain<IJobGrain>(first.JobId).KillAsync(TimeSpan.Zero);
        var third = await RunAsync("alice");

        Assert.Equal(new[] { first.JobId, second.JobId }.Order(), jobs.Order());
        Assert.Contains("alice", owners);
        Assert.Equal(JobState.Running, third.State);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_job_whose_silo_was_killed_is_lost_stops_counting_and_its_record_goes_when_forgotten()
    {
        var cluster = _cluster = await RedisTestCluster.StartAsync(silos: 2, maxRunningJobsPerOwner: 1);
        var secondary = cluster.Cluster.Silos[1];
        var onSecondary = await RunAsync("alice", RedisTestCluster.NodeName(secondary));
        _pids.Add(onSecondary.Pid);
        await Assert.ThrowsAsync<JobQuotaExceededException>(() => RunAsync("alice"));

        await cluster.Cluster.KillSiloAsync(secondary);
        await cluster.WaitDeclaredDeadAsync(secondary, DeathDetection);
        var lost = await cluster.Client.GetGrain<IJobGrain>(onSecondary.JobId).GetStatusAsync();
        var listed = await cluster.Client.GetGrain<IOwnerGrain>("alice").JobsAsync();
        var next = await RunAsync("alice");
        bool forgotten = await cluster.Client.GetGrain<IJobGrain>(onSecondary.JobId).ForgetAsync();
        var records = await cluster.Redis.KeysAsync($"*{onSecondary.JobId}*record*");

        Assert.Equal((JobState.Lost, RedisTestCluster.NodeName(secondary), onSecondary.Pid), (lost.State, lost.Node, lost.Pid));
        Assert.Contains(onSecondary.JobId, listed);
        Assert.Equal(JobState.Running, next.State);
        Assert.True(forgotten);
        Assert.Empty(records);
        await Assert.ThrowsAsync<JobNotFoundException>(() => cluster.Client.GetGrain<IJobGrain>(onSecondary.JobId).GetStatusAsync());
    }

    private async Task<JobStatus> RunAsync(string owner, string? node = null)
    {
        string id = JobIds.New();
        var status = await _cluster!.RunAsync(id, new JobSpec(TestChildProgram.Path, ["sleep", "600"]) { Owner = owner }, node);
        _jobs.Add((_cluster.Client, id));
        _pids.Add(status.Pid);
        return status;
    }
}
