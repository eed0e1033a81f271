using System.Text.Json;
using Grpc.Core;
using Jobs.Protos;
using static Jobs.EndToEnd.Tests.ClusterNodes;

namespace Jobs.EndToEnd.Tests;

/// <summary><c>jobs nodes</c> and <c>jobs drain</c> against a fake server, with nodes in every status one real server cannot show.</summary>
public sealed class CliNodesTests
{
    private const string Started = "draining n2: 3 running jobs; it leaves the cluster once they end (Jobs:DrainTimeout on the server bounds the wait)\n";

    [Fact(Timeout = 60_000)]
    public async Task Nodes_prints_status_jobs_cpu_memory_and_uptime_and_dashes_for_a_node_that_did_not_answer()
    {
        var fake = new FakeJobs();
        var n1 = Answered("n1", NodeStatus.Active, 2, 23.4, 8, 3_328_599_654, 16_750_372_454, TimeSpan.FromSeconds(7530));
        n1.JobsBudget = new JobsBudget { MaxProcesses = 27853, MaxMemoryBytes = 15 * GiB, Used = new Usage { Tasks = 12, MemoryBytes = 1_610_612_736 } };
        var n3 = Answered("n3", NodeStatus.Draining, 3, 99.6, 16, 10 * GiB, 67_430_986_547, new TimeSpan(3, 4, 10, 0));
        // A node without a budget of memory, and one that counts no memory.
        n3.JobsBudget = new JobsBudget { MaxProcesses = 500, Used = new Usage { Tasks = 3, MemoryBytes = 300 * MiB } };
        var n2 = Answered("n2", NodeStatus.Active, 0, 0.4, 4, 300 * MiB, 900 * MiB, TimeSpan.FromSeconds(45), acceptsJobs: false);
        n2.JobsBudget = new JobsBudget { Used = new Usage { Tasks = 0 } };
        fake.AnswerNodes(Answer(
            n1,
            n2,
            n3,
            Silent("n4", NodeStatus.Active),
            Silent("n5", NodeStatus.Dead),
            Silent("n6", NodeStatus.Joining),
            Answered("n7", NodeStatus.ShuttingDown, 1, 5, 2, GiB, 2 * GiB, TimeSpan.FromSeconds(302))));
        await using var server = await FakeJobsServer.StartAsync(fake);

        var nodes = await Cli.RunAsync(server.Endpoint, "nodes");

        Assert.Equal(
            string.Concat(
                "NAME  ADDRESS         STATUS            JOBS  CPU         MEMORY         UPTIME  JOB TASKS   JOB MEMORY\n",
                "n1    10.0.0.1:11111  active            2     23% of 8    3.1/15.6 GiB   2h05m   12/27853    1.5/15.0 GiB\n",
                "n2    10.0.0.2:11111  active (no jobs)  0     0% of 4     300/900 MiB    45s     0/no limit  -\n",
                "n3    10.0.0.3:11111  draining          3     100% of 16  10.0/62.8 GiB  3d04h   3/500       300M/no limit\n",
                "n4    10.0.0.4:11111  active            -     -           -              -       -           -\n",
                "n5    10.0.0.5:11111  dead              -     -           -              -       -           -\n",
                "n6    10.0.0.6:11111  joining           -     -           -              -       -           -\n",
                "n7    10.0.0.7:11111  shutting down     1     5% of 2     1.0/2.0 GiB    5m02s   -           -\n"),
            nodes.StdoutText);
        Assert.Equal((0, ""), (nodes.ExitCode, nodes.Stderr));
    }

    [Fact(Timeout = 60_000)]
    public async Task Nodes_json_prints_the_servers_answer_and_a_hostile_name_only_escaped_in_text()
    {
        var fake = new FakeJobs();
        fake.AnswerNodes(Answer(Answered("n\u001b]0;x\u0007", NodeStatus.Active, 2)));
        await using var server = await FakeJobsServer.StartAsync(fake);

        var json = await Cli.RunAsync(server.Endpoint, "nodes", "-o", "json");
        var text = await Cli.RunAsync(server.Endpoint, "nodes");

        using var document = JsonDocument.Parse(json.StdoutText);
        var node = document.RootElement.GetProperty("nodes")[0];
        Assert.Equal("n\u001b]0;x\u0007", node.GetProperty("name").GetString());
        Assert.Equal("NODE_STATUS_ACTIVE", node.GetProperty("status").GetString());
        Assert.Equal(2, node.GetProperty("runningJobs").GetInt32());
        Assert.True(node.GetProperty("answered").GetBoolean());
        Assert.StartsWith(@"n\x1b]0;x\x07  ", text.StdoutText.Split('\n')[1]);
        Assert.DoesNotContain('\u001b', json.StdoutText + text.StdoutText);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Drain_waits_with_a_line_per_status_change_until_the_node_has_left(bool listedAsDead)
    {
        var fake = new FakeJobs { DrainAnswer = new DrainResponse { Node = Answered("n2", NodeStatus.Draining, 3) } };
        fake.AnswerNodes(
            Answer(Answered("n1", NodeStatus.Active), Answered("n2", NodeStatus.Draining, 3)),
            Answer(Answered("n1", NodeStatus.Active), Answered("n2", NodeStatus.Draining, 1)),
            Answer(Answered("n1", NodeStatus.Active), Answered("n2", NodeStatus.ShuttingDown)),
            listedAsDead ? Answer(Answered("n1", NodeStatus.Active), Silent("n2", NodeStatus.Dead)) : Answer(Answered("n1", NodeStatus.Active)));
        await using var server = await FakeJobsServer.StartAsync(fake);

        var drain = await Cli.RunAsync(server.Endpoint, "--cert", "certs/admin.pem", "--key", "certs/admin.key", "drain", "n2");

        Assert.Equal((0, Started + "n2: shutting down\nn2 left the cluster\n", ""), (drain.ExitCode, drain.StdoutText, drain.Stderr));
        Assert.Equal("n2", Assert.Single(fake.Drains).Node);
        Assert.Equal(4, fake.NodesCalls);
    }

    [Fact(Timeout = 60_000)]
    public async Task Drain_rides_out_a_few_unanswered_polls_but_not_a_server_that_is_gone()
    {
        var brief = new FakeJobs { DrainAnswer = new DrainResponse { Node = Answered("n2", NodeStatus.Draining, 3) }, NodesFailures = 2 };
        brief.AnswerNodes(Answer(Answered("n1", NodeStatus.Active)));
        var gone = new FakeJobs { DrainAnswer = new DrainResponse { Node = Answered("n2", NodeStatus.Draining, 3) }, NodesFailures = int.MaxValue };
        await using var briefServer = await FakeJobsServer.StartAsync(brief);
        await using var goneServer = await FakeJobsServer.StartAsync(gone);

        var riddenOut = await Cli.RunAsync(briefServer.Endpoint, "drain", "n2");
        var givenUp = await Cli.RunAsync(goneServer.Endpoint, "drain", "n2");

        Assert.Equal((0, Started + "n2 left the cluster\n"), (riddenOut.ExitCode, riddenOut.StdoutText));
        Assert.Equal(3, brief.NodesCalls);
        Assert.Equal((3, "jobs: server unavailable: the silo is not reachable\n"), (givenUp.ExitCode, givenUp.Stderr));
        Assert.Equal(5, gone.NodesCalls);
    }

    [Fact(Timeout = 60_000)]
    public async Task Drain_no_wait_returns_once_the_drain_has_started()
    {
        var fake = new FakeJobs { DrainAnswer = new DrainResponse { Node = Answered("n2", NodeStatus.Draining, 3) } };
        await using var server = await FakeJobsServer.StartAsync(fake);

        var drain = await Cli.RunAsync(server.Endpoint, "drain", "n2", "--no-wait");

        Assert.Equal((0, Started), (drain.ExitCode, drain.StdoutText));
        Assert.Equal(0, fake.NodesCalls);
    }

    [Fact(Timeout = 60_000)]
    public async Task Drain_json_prints_the_drain_answer_alone_and_still_waits_for_the_node_to_leave()
    {
        var fake = new FakeJobs { DrainAnswer = new DrainResponse { Node = Answered("n2", NodeStatus.Draining, 3) } };
        fake.AnswerNodes(Answer(Answered("n2", NodeStatus.ShuttingDown)), Answer());
        await using var server = await FakeJobsServer.StartAsync(fake);

        var drain = await Cli.RunAsync(server.Endpoint, "drain", "n2", "-o", "json");

        using var document = JsonDocument.Parse(drain.StdoutText);
        Assert.Equal(0, drain.ExitCode);
        Assert.Single(drain.StdoutText.TrimEnd('\n').Split('\n'));
        Assert.Equal("NODE_STATUS_DRAINING", document.RootElement.GetProperty("node").GetProperty("status").GetString());
        Assert.Equal(2, fake.NodesCalls);
    }

    [Fact(Timeout = 60_000)]
    public async Task Drain_without_figures_and_of_an_idle_node_says_so()
    {
        var silent = new FakeJobs { DrainAnswer = new DrainResponse { Node = Silent("n2", NodeStatus.Draining) } };
        var idle = new FakeJobs { DrainAnswer = new DrainResponse { Node = Answered("n2", NodeStatus.Draining, 0) } };
        await using var silentServer = await FakeJobsServer.StartAsync(silent);
        await using var idleServer = await FakeJobsServer.StartAsync(idle);

        var unknown = await Cli.RunAsync(silentServer.Endpoint, "drain", "--no-wait", "n2");
        var none = await Cli.RunAsync(idleServer.Endpoint, "drain", "--no-wait", "n2");

        Assert.Equal("draining n2; it leaves the cluster once its running jobs end (Jobs:DrainTimeout on the server bounds the wait)\n", unknown.StdoutText);
        Assert.Equal("draining n2: no running jobs; it leaves the cluster now\n", none.StdoutText);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(StatusCode.NotFound, "no live node named 'n9' (the nodes: n1, n2)", 4)]
    [InlineData(StatusCode.PermissionDenied, "Drain is for admins only", 5)]
    public async Task Drain_refused_prints_the_servers_words_and_exits_with_the_codes_exit_code(StatusCode code, string detail, int exitCode)
    {
        var fake = new FakeJobs { DrainRefusal = new RpcException(new Status(code, detail)) };
        await using var server = await FakeJobsServer.StartAsync(fake);

        var drain = await Cli.RunAsync(server.Endpoint, "drain", "n9");

        Assert.Equal((exitCode, "", $"jobs: {detail}\n"), (drain.ExitCode, drain.StdoutText, drain.Stderr));
        Assert.Equal(0, fake.NodesCalls);
    }

    [Fact(Timeout = 60_000)]
    public async Task Drain_of_an_unknown_node_without_a_detail_names_the_node_not_a_job()
    {
        var fake = new FakeJobs { DrainRefusal = new RpcException(new Status(StatusCode.NotFound, "")) };
        await using var server = await FakeJobsServer.StartAsync(fake);

        var drain = await Cli.RunAsync(server.Endpoint, "drain", "n9");

        Assert.Equal((4, "jobs: no live node named 'n9' (see 'jobs nodes')\n"), (drain.ExitCode, drain.Stderr));
    }

    [Fact(Timeout = 60_000)]
    public async Task Interrupting_a_drain_stops_the_waiting_and_says_the_drain_goes_on()
    {
        var fake = new FakeJobs { DrainAnswer = new DrainResponse { Node = Answered("n2", NodeStatus.Draining, 3) } };
        fake.AnswerNodes(Answer(Answered("n2", NodeStatus.Draining, 3)));
        await using var server = await FakeJobsServer.StartAsync(fake);

        var drain = await Cli.RunAsync(server.Endpoint, fake.NodesCalled, "drain", "n2");

        Assert.Equal((130, Started), (drain.ExitCode, drain.StdoutText));
        Assert.Equal("jobs: stopped waiting; n2 goes on draining and leaves the cluster once its jobs end ('jobs nodes' shows it)\n", drain.Stderr);
    }

    [Fact(Timeout = 60_000)]
    public async Task Node_names_complete_from_the_server_for_drain_and_run_node_without_the_dead_ones()
    {
        var fake = new FakeJobs();
        fake.AnswerNodes(Answer(Answered("n1", NodeStatus.Active), Answered("n2", NodeStatus.Draining), Silent("n3", NodeStatus.Dead)));
        await using var server = await FakeJobsServer.StartAsync(fake);
        var environment = new Dictionary<string, string> { ["JOBS_ENDPOINT"] = server.Endpoint };

        var drain = await Cli.RunConfiguredAsync(environment, "[suggest:11]", "jobs drain ");
        var run = await Cli.RunConfiguredAsync(environment, "[suggest:17]", "jobs run --node n");

        string[] drainItems = drain.StdoutText.Split('\n');
        Assert.Contains("n1", drainItems);
        Assert.Contains("n2", drainItems);
        Assert.DoesNotContain("n3", drainItems);
        Assert.Equal(["n1", "n2"], run.StdoutText.TrimEnd('\n').Split('\n'));
    }
}
