using System.Diagnostics;
using System.Globalization;
using Jobs.Protos;

namespace Jobs.Bench;

/// <summary>What a scenario works with: options, paths, its report, its time limit, and the servers it started (stopped at the end, RSS printed first).</summary>
internal sealed class ScenarioContext(BenchOptions options, BenchPaths paths, Report report, CancellationToken cancellationToken) : IAsyncDisposable
{
    private readonly List<Deployment> _running = [];
    private readonly List<(string Key, Func<string> Describe)> _partial = [];

    public BenchOptions Options => options;

    public BenchPaths Paths => paths;

    public Report Report => report;

    /// <summary>Cancelled at the scenario's timeout or on Ctrl+C.</summary>
    public CancellationToken Token => cancellationToken;

    public GrpcClients Clients { get; } = new(paths, options.Window);

    /// <summary>A job to start, on the deployment's job node (RunRequest.node; empty but in a cluster).</summary>
    public RunRequest Job(string command, params string[] args) => new()
    {
        Command = command,
        Args = { args },
        Node = Options.JobNode,
    };

    public RunRequest Flood(long bytes, int writeSize) => Flood(bytes, writeSize, Options.JobNode);

    // A flood job on the given node (RunRequest.node; empty: the server picks).
    private RunRequest Flood(long bytes, int writeSize, string node)
    {
        var request = Job(BenchPaths.TestChild, "flood", bytes.ToString(CultureInfo.InvariantCulture), writeSize.ToString(CultureInfo.InvariantCulture));
        request.Node = node;
        return request;
    }

    /// <summary>The Native AOT CLI's path; null, with the failure reported, when it has not been published.</summary>
    public string? AotCliOrFail()
    {
        string jobs = Paths.AotCli;
        if (File.Exists(jobs))
        {
            return jobs;
        }

        Report.Failure($"no Native AOT CLI at {jobs}: run 'dotnet publish Client -c Release -r linux-x64' first");
        return null;
    }

    /// <summary>The CLI's options that reach the server at <paramref name="endpoint"/> as client1.</summary>
    public string[] CliConnection(string endpoint) =>
    [
        "--endpoint", endpoint, "--domain", "localhost",
        "--cert", Path.Combine(Paths.Certs, "client1.pem"), "--key", Path.Combine(Paths.Certs, "client1.key"),
        "--server-ca", Path.Combine(Paths.Certs, "server_ca.pem"),
    ];

    /// <summary>Registers a figure in progress, printed if the scenario times out or is interrupted.</summary>
    public void WhileRunning(string key, Func<string> describe) => _partial.Add((key, describe));

    /// <summary>Prints what the registered figures reached so far.</summary>
    public void ReportPartial()
    {
        foreach (var (key, describe) in _partial)
        {
            Report.Line(key, $"so far: {describe()}");
        }
    }

    /// <summary>The server of the run's deployment, or of <paramref name="kind"/> (a baseline of another kind).</summary>
    public async Task<Deployment> StartServerAsync(string? label = null, DeploymentKind? kind = null)
    {
        var started = kind ?? Options.Kind;
        Report.Progress($"starting the {started.ToString().ToLowerInvariant()} server{(label is null ? "" : $" ({label})")}");
        var deployment = await Deployment.StartAsync(Paths, Options, Clients, started, Token);
        _running.Add(deployment);
        Report.Line(label is null ? "server" : $"server ({label})", deployment.Description);
        Report.Line("tree tracking", deployment.TreeTracking);
        return deployment;
    }

    /// <summary>Prints the server's RSS, then stops it (SIGTERM, kill if needed).</summary>
    public async Task StopServerAsync(Deployment deployment, string? label = null)
    {
        Report.Line(label is null ? "server RSS" : $"server RSS ({label})", deployment.Rss().ToString());
        _running.Remove(deployment);
        Report.Progress("stopping the server");
        var lines = await deployment.StopAsync();
        await deployment.DisposeAsync();
        Report.Progress(string.Join("; ", lines));
        if (lines.Any(line => !line.Contains("stopped on SIGTERM", StringComparison.Ordinal)))
        {
            Report.Line("server stop", string.Join("; ", lines));
        }
    }

    /// <summary>
    /// A flood job of --warm-up bytes followed to its end, then a pause, so timed calls run on the server's
    /// optimized (tier-1) code over open connections rather than on its first JIT tier. Returns its id.
    /// The job runs on the run's job node, or on <paramref name="on"/>'s (a baseline server of another kind).
    /// </summary>
    public async Task<string> WarmUpAsync(JobsClient client, Deployment? on = null)
    {
        long bytes = Options.WarmUpBytes;
        string node = on?.JobNode ?? Options.JobNode;
        Report.Progress($"warm-up: following a {Units.Size(bytes)} job");
        var run = await client.RunAsync(Flood(bytes, Options.WriteSize, node), cancellationToken: Token);
        var follower = new Follower("warm-up follower");
        await follower.FollowAsync(client, run.JobId, bytes, Stopwatch.StartNew(), 0, Token);
        if (!follower.Complete)
        {
            Report.Failure($"warm-up: {follower.Error}");
        }

        var status = (await client.PsAsync(new PsRequest { JobId = run.JobId }, cancellationToken: Token)).Status;
        if (node.Length > 0)
        {
            // What the figures claim (output crossing from that node's silo) holds only if the job ran there.
            if (status.Node == node)
            {
                Report.Line("job node", $"{status.Node} (Ps of the warm-up job)");
            }
            else
            {
                Report.Failure($"the warm-up job ran on '{status.Node}', not on {node} as RunRequest.node asked");
            }
        }
        else if ((on?.Kind ?? Options.Kind) == DeploymentKind.Cluster)
        {
            Report.Line("job node", $"placed by load; the warm-up job ran on {status.Node}");
        }

        // The runtime compiles hot methods again in the background shortly after they get hot.
        await Task.Delay(TimeSpan.FromSeconds(1), Token);
        return run.JobId;
    }

    /// <summary>
    /// A flood job followed live from the Run call; the follower's times count from just before the call.
    /// The job runs on the run's job node, or on <paramref name="on"/>'s.
    /// </summary>
    public async Task<(Follower Follower, TimeSpan RunCall)> LiveFollowAsync(JobsClient client, long bytes, string name, Deployment? on = null)
    {
        var clock = Stopwatch.StartNew();
        var run = await client.RunAsync(Flood(bytes, Options.WriteSize, on?.JobNode ?? Options.JobNode), cancellationToken: Token);
        var runCall = clock.Elapsed;
        var follower = new Follower(name);
        WhileRunning(name, () => $"{follower.Describe()} at {Units.Seconds(clock.Elapsed)}");
        await follower.FollowAsync(client, run.JobId, bytes, clock, 0, Token);
        return (follower, runCall);
    }

    /// <summary>
    /// The rate of one live follower of a flood job of <paramref name="bytes"/> on <paramref name="server"/>,
    /// and its time (Run call to last byte): a reference for the scenario's figure, reported as "LABEL follower"
    /// and checked as "LABEL exact". Null, with <paramref name="server"/> stopped, when it did not get every byte right.
    /// </summary>
    public async Task<(double Rate, TimeSpan LastByte)?> LiveRateAsync(JobsClient client, Deployment server, long bytes, string label)
    {
        var (follower, _) = await LiveFollowAsync(client, bytes, $"{label} follower", server);
        Report.Line($"{label} follower", follower.Describe());
        if (!Report.Checked(follower, $"{label} exact"))
        {
            await StopServerAsync(server);
            return null;
        }

        return (Units.Rate(follower.Bytes, follower.LastByteOrEnd), follower.LastByteOrEnd);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var deployment in _running.ToList())
        {
            try
            {
                await StopServerAsync(deployment);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException)
            {
                Report.Progress($"stopping the server: {e.Message}");
                await deployment.DisposeAsync();
            }
        }

        Clients.Dispose();
    }
}
