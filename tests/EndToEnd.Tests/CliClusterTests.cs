using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// The cluster verbs of the CLI against the real one-command server, whose cluster is its one
/// node, named after the host by default. Never drains that node with an admin's certificate: the
/// other tests share the server.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class CliClusterTests(ServerFixture fixture) : IAsyncLifetime
{
    private static readonly string[] Admin = ["--cert", "certs/admin.pem", "--key", "certs/admin.key"];

    private readonly List<string> _jobs = [];

    private string Endpoint => fixture.Server.Endpoint;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (string id in _jobs)
        {
            await Cli.RunAsync(Endpoint, "rm", id);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Nodes_lists_the_servers_one_node_active_under_the_host_name()
    {
        var table = await Cli.RunAsync(Endpoint, "nodes");
        var json = await Cli.RunAsync(Endpoint, "nodes", "-o", "json");

        Assert.True(table.ExitCode == 0, table.ToString());
        string[] lines = table.StdoutText.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Matches(@"^NAME +ADDRESS +STATUS +JOBS +CPU +MEMORY +UPTIME +JOB TASKS +JOB MEMORY$", lines[0]);
        Assert.Contains(lines[1].Split(' ')[0], HostNames);
        // The jobs' budget: their processes of the most they may have, their memory of their share.
        Assert.Matches($@"^\S+ +\S+:\d+ +active +\d+ +\d+% of [1-9]\d* +\d+(\.\d)?/\d+(\.\d)? [GM]iB +\S+ +\d+/\d+ +\d+(\.\d)?/\d+(\.\d)? [GM]iB$", lines[1]);

        using var document = JsonDocument.Parse(json.StdoutText);
        var node = Assert.Single(document.RootElement.GetProperty("nodes").EnumerateArray());
        Assert.Contains(node.GetProperty("name").GetString(), HostNames);
        Assert.Equal("NODE_STATUS_ACTIVE", node.GetProperty("status").GetString());
        Assert.True(node.GetProperty("acceptsJobs").GetBoolean());
        Assert.True(node.GetProperty("answered").GetBoolean());
    }

    [Fact(Timeout = 120_000)]
    public async Task Run_on_an_unknown_node_is_refused_naming_the_live_nodes()
    {
        string node = await NodeNameAsync();

        var run = await Cli.RunAsync(Endpoint, "run", "--node", "jobs-no-such-node", "--", "true");

        Assert.Equal((1, ""), (run.ExitCode, run.StdoutText));
        Assert.Contains("jobs-no-such-node", run.Stderr);
        Assert.Contains(node, run.Stderr);
        Assert.Single(run.Stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_job_run_on_the_servers_node_names_that_node_in_ps()
    {
        string node = await NodeNameAsync();
        var run = await Cli.RunAsync(Endpoint, "run", "--node", node, "--", "true");
        Assert.True(run.ExitCode == 0, run.ToString());
        string id = run.StdoutText.Trim();
        _jobs.Add(id);
        await Cli.RunAsync(Endpoint, "wait", id);

        var ps = await Cli.RunAsync(Endpoint, "ps", id);
        var table = await Cli.RunAsync(Endpoint, "ps");

        Assert.Matches($@"^Exited code=0 node={Regex.Escape(node)} user=jobs-[0-9]+$", ps.StdoutText.Split('\n')[0]);
        Assert.Matches($@"^{id} +Exited +0 +{Regex.Escape(node)} +", table.StdoutText.Split('\n').Single(l => l.StartsWith(id, StringComparison.Ordinal)));
    }

    [Fact(Timeout = 180_000)]
    public async Task Drain_is_refused_to_a_caller_who_is_not_an_admin()
    {
        // A server of its own: were the refusal missing, the shared server's one node would leave.
        await using var server = await ServerProcess.StartCombinedAsync();
        string node = await NodeNameAsync(server.Endpoint);

        var drain = await Cli.RunAsync(server.Endpoint, "drain", node);

        Assert.Equal((5, ""), (drain.ExitCode, drain.StdoutText));
        Assert.StartsWith("jobs: ", drain.Stderr);
        using var after = JsonDocument.Parse((await Cli.RunAsync(server.Endpoint, "nodes", "-o", "json")).StdoutText);
        Assert.Equal("NODE_STATUS_ACTIVE", after.RootElement.GetProperty("nodes")[0].GetProperty("status").GetString());
    }

    [Fact(Timeout = 120_000)]
    public async Task Drain_of_an_unknown_node_exits_4_with_the_servers_message_about_the_node()
    {
        var drain = await Cli.RunAsync(Endpoint, [.. Admin, "drain", "jobs-no-such-node"]);

        Assert.Equal((4, ""), (drain.ExitCode, drain.StdoutText));
        Assert.Contains("jobs-no-such-node", drain.Stderr);
        Assert.DoesNotContain("job jobs-no-such-node", drain.Stderr);
        Assert.Single(drain.Stderr.TrimEnd('\n').Split('\n'));
    }

    // Orleans:NodeName defaults to the host name: either spelling of it (.NET's, which stops at the
    // first dot, or the kernel's whole one) is the server's to take.
    private static string[] HostNames => [Environment.MachineName, Dns.GetHostName()];

    /// <summary>The name of the server's one node, as it answers Nodes.</summary>
    private Task<string> NodeNameAsync() => NodeNameAsync(Endpoint);

    private static async Task<string> NodeNameAsync(string endpoint)
    {
        var nodes = await Cli.RunAsync(endpoint, "nodes", "-o", "json");
        Assert.True(nodes.ExitCode == 0, nodes.ToString());
        using var document = JsonDocument.Parse(nodes.StdoutText);
        return Assert.Single(document.RootElement.GetProperty("nodes").EnumerateArray()).GetProperty("name").GetString()!;
    }
}
