using System.Globalization;
using System.Text.RegularExpressions;
using Grpc.Core;
using Jobs.Protos;
using Jobs.TestChild;
using Jobs.TestSupport;
using Xunit.Abstractions;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// The cluster through the real CLI: Silo processes n1 and n2 clustered on a real Redis, and a
/// remote gateway that finds them there. These tests leave the nodes as they found them, so they
/// share one cluster; <see cref="ClusterFailureTests"/> kill and drain nodes of clusters of their own.
/// </summary>
[Collection(SharedClusterCollection.Name)]
public sealed class ClusterTests(SharedClusterFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly ClusterCli _cli = new(fixture.Cluster);

    private RedisCluster Cluster => fixture.Cluster;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _cli.KillStartedAsync();

    [Fact(Timeout = 60_000)]
    public async Task Nodes_lists_both_nodes_as_active_with_their_addresses()
    {
        var text = await _cli.RunAsync("nodes");
        var json = await _cli.NodesAsync();

        Assert.True(text.ExitCode == 0, text.ToString());
        foreach (string node in RedisCluster.NodeNames)
        {
            // NAME ADDRESS STATUS JOBS CPU MEMORY UPTIME
            Assert.Matches(new Regex($@"^{node} +{Regex.Escape(Cluster.SiloAddress(node))} +active +\d", RegexOptions.Multiline), text.StdoutText);

            var entry = Assert.Single(json, n => n.GetProperty("name").GetString() == node);
            Assert.Equal(Cluster.SiloAddress(node), entry.GetProperty("address").GetString());
            Assert.Equal("NODE_STATUS_ACTIVE", entry.GetProperty("status").GetString());
            Assert.True(entry.GetProperty("acceptsJobs").GetBoolean(), entry.ToString());
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task The_nodes_read_the_redis_password_from_their_file_and_no_command_line_shows_it()
    {
        var cluster = fixture.Cluster;
        int[] nodes = [cluster.Gateway.Pid, .. RedisCluster.NodeNames.Select(n => cluster.Silo(n).Pid)];

        string password = Assert.IsType<string>(cluster.Redis.Password);
        Assert.All(nodes, pid => Assert.Contains($"--Orleans:RedisPasswordFile={cluster.PasswordFile}", Processes.CommandLine(pid)));
        Assert.All([.. nodes, cluster.Redis.Pid], pid => Assert.DoesNotContain(password, Processes.CommandLine(pid)));

        // And the password is required: a client without it is refused.
        var anonymous = new StackExchange.Redis.ConfigurationOptions { EndPoints = { cluster.Redis.ConnectionString }, AbortOnConnectFail = true, ConnectTimeout = 5000, ConnectRetry = 1 };
        var refused = await Assert.ThrowsAnyAsync<StackExchange.Redis.RedisException>(async () =>
        {
            using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(anonymous);
            await connection.GetDatabase().PingAsync();
        });
        Assert.Contains("NOAUTH", refused.ToString());
    }

    [Fact(Timeout = 60_000)]
    public async Task The_cluster_membership_is_kept_in_the_clusters_own_redis()
    {
        var keys = await Cluster.Redis.KeysAsync($"*{Cluster.ClusterId}*");

        output.WriteLine($"keys with the cluster id {Cluster.ClusterId}: {string.Join(", ", keys)}");
        _cli.Expect(keys.Count > 0, $"no key in Redis names the cluster id {Cluster.ClusterId}; keys: {string.Join(", ", await Cluster.Redis.KeysAsync())}");
    }

    [Theory(Timeout = 60_000)]
    [InlineData("n1")]
    [InlineData("n2")]
    public async Task Run_on_a_named_node_runs_the_job_there(string node)
    {
        string id = await _cli.StartAsync("--node", node, "--", TestChildProgram.Path, "echo", "hello", "from", node);

        var logs = await _cli.RunAsync("logs", id);
        var status = await _cli.PsAsync(id);

        Assert.Equal((0, $"hello from {node}\n"), (logs.ExitCode, logs.StdoutText));
        Assert.Equal(node, status.GetProperty("node").GetString());
        Assert.Equal("JOB_STATE_EXITED", status.GetProperty("state").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Run_on_an_unknown_node_is_refused_naming_the_nodes_that_take_jobs()
    {
        string marker = $"never-runs-{Guid.NewGuid():N}";

        var cli = await _cli.RunAsync("run", "--node", "n9", "--", TestChildProgram.Path, "echo", marker);
        var (client, channel) = GrpcClients.Create(Cluster.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => client.RunAsync(new RunRequest { Command = TestChildProgram.Path, Args = { "echo", marker }, Node = "n9" }).ResponseAsync);
            Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        }

        Assert.Equal(1, cli.ExitCode);
        Assert.Equal(string.Empty, cli.StdoutText);
        Assert.Contains("n1", cli.Stderr);
        Assert.Contains("n2", cli.Stderr);
        Assert.DoesNotContain(marker, (await _cli.RunAsync("ps", "-o", "json")).StdoutText);
    }

    [Fact(Timeout = 90_000)]
    public async Task Jobs_without_a_node_go_to_the_node_with_the_fewest_running_jobs()
    {
        // Jobs of the tests before this one may still be ending.
        await Cluster.WaitForNodesAsync(nodes => nodes.Count(n => n.RunningJobs == 0 && n.Status == NodeStatus.Active) == 2, TimeSpan.FromSeconds(20));

        var placed = new List<string>();
        for (int i = 0; i < 4; i++)
        {
            placed.Add((await Cluster.PsAsync(await _cli.StartAsync("--", TestChildProgram.Path, "sleep", "600"))).Node);
        }

        output.WriteLine($"placed on: {string.Join(", ", placed)}");
        Assert.NotEqual(placed[0], placed[1]);
        Assert.Equal(2, placed.Count(n => n == "n1"));
        Assert.Equal(2, placed.Count(n => n == "n2"));
        await Cluster.WaitForNodesAsync(nodes => nodes.Count(n => n.RunningJobs == 2) == 2, TimeSpan.FromSeconds(10));
    }

    [Fact(Timeout = 120_000)]
    public async Task Output_of_a_job_on_another_node_arrives_byte_for_byte_through_the_gateway()
    {
        const int size = 6 * 1024 * 1024 + 3;
        string id = await _cli.StartAsync("--node", "n2", "--", TestChildProgram.Path, "flood", size.ToString(CultureInfo.InvariantCulture), "7777");

        var logs = await _cli.RunAsync("logs", id);
        var followed = await _cli.RunAsync("run", "--follow", "--node", "n2", "--", TestChildProgram.Path, "binary", "8192");

        var expected = new byte[size];
        Pattern.Fill(0, expected);
        Assert.Equal(0, logs.ExitCode);
        Assert.True(expected.AsSpan().SequenceEqual(logs.Stdout), $"got {logs.Stdout.Length} bytes, not the {size} written");
        Assert.Equal(0, followed.ExitCode);
        var everyByte = Enumerable.Range(0, 8192 * 256).Select(i => (byte)i).ToArray();
        Assert.True(everyByte.AsSpan().SequenceEqual(followed.Stdout), $"run --follow got {followed.Stdout.Length} bytes, not the {everyByte.Length} written: {followed.Stderr}");
    }
}
