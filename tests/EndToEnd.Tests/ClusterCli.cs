using System.Text.Json;
using Xunit.Sdk;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// The real <c>jobs</c> CLI against a <see cref="RedisCluster"/>'s gateway, as client1 (or the
/// admin), remembering the jobs it started so a test can kill them at its end. Failed
/// expectations carry every process's log.
/// </summary>
public sealed class ClusterCli(RedisCluster cluster)
{
    private static readonly string[] AsAdmin = ["--cert", "certs/admin.pem", "--key", "certs/admin.key"];
    private readonly List<string> _started = [];

    public Task<CliResult> RunAsync(params string[] args) => Cli.RunAsync(cluster.Endpoint, args);

    /// <summary>A CLI that may run for minutes, such as a <c>logs</c> follower of a long job.</summary>
    public Task<CliResult> FollowAsync(params string[] args) => Cli.RunWithTimeoutAsync(cluster.Endpoint, TimeSpan.FromMinutes(3), args);

    /// <summary>A follower (<c>logs ID</c>) and a task that completes once it has printed <paramref name="text"/>, so it is known to be attached.</summary>
    public (Task<CliResult> Result, Task Seen) FollowUntilSeenAsync(string text, params string[] args) =>
        Cli.RunWatchingAsync(cluster.Endpoint, TimeSpan.FromMinutes(3), text, args);

    /// <summary>The CLI with the admin's client certificate (<c>Gateway:Admins</c> names it).</summary>
    public Task<CliResult> AdminAsync(params string[] args) => Cli.RunAsync(cluster.Endpoint, [.. AsAdmin, .. args]);

    /// <summary>A CLI of the admin's that may run for minutes, such as a drain that waits for the node to leave.</summary>
    public Task<CliResult> AdminFollowAsync(params string[] args) => FollowAsync([.. AsAdmin, .. args]);

    /// <summary><c>jobs run ARGS</c>, which must succeed; the new job's id.</summary>
    public async Task<string> StartAsync(params string[] runArgs)
    {
        var run = await RunAsync(["run", .. runArgs]);
        Expect(run.ExitCode == 0, $"jobs run {string.Join(' ', runArgs)}: {run}");
        string id = run.StdoutText.Trim();
        _started.Add(id);
        return id;
    }

    /// <summary><c>jobs ps ID -o json</c>: the job's status as the protobuf JSON mapping.</summary>
    public async Task<JsonElement> PsAsync(string id)
    {
        var ps = await RunAsync("ps", id, "-o", "json");
        Expect(ps.ExitCode == 0, $"jobs ps {id}: {ps}");
        return Parse(ps);
    }

    /// <summary><c>jobs nodes -o json</c>: its <c>nodes</c>.</summary>
    public async Task<JsonElement[]> NodesAsync()
    {
        var nodes = await RunAsync("nodes", "-o", "json");
        Expect(nodes.ExitCode == 0, $"jobs nodes: {nodes}");
        return [.. Parse(nodes).GetProperty("nodes").EnumerateArray()];
    }

    /// <summary>Kills every job this CLI started that may still run, ignoring the answers (a finished or lost job is fine).</summary>
    public async Task KillStartedAsync()
    {
        foreach (string id in _started)
        {
            await RunAsync("kill", "--grace", "1s", id);
        }
    }

    /// <summary>Fails with <paramref name="what"/> and every log of the cluster unless <paramref name="condition"/> holds.</summary>
    public void Expect(bool condition, string what)
    {
        if (!condition)
        {
            throw new XunitException($"{what}\n{cluster.Logs}");
        }
    }

    private static JsonElement Parse(CliResult result)
    {
        try
        {
            using var document = JsonDocument.Parse(result.StdoutText);
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new XunitException($"not JSON ({e.Message}): {result}");
        }
    }
}
