using System.Diagnostics;

namespace Jobs.Bench;

/// <summary>
/// The server as the scenario runs it: the one-command gateway hosting the silo (combined), a Silo process
/// plus a gateway connected to it (split), or a redis-server with Silo processes n1 and n2 clustered on it
/// and a remote gateway (cluster); on free loopback ports with absolute certificate paths.
/// </summary>
internal sealed class Deployment : IAsyncDisposable
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan FormTimeout = TimeSpan.FromSeconds(90);
    private readonly IReadOnlyDictionary<string, ServerProcess> _nodes;

    private Deployment(DeploymentKind kind, ServerProcess gateway, IReadOnlyList<ServerProcess> silos, IReadOnlyDictionary<string, ServerProcess> nodes, RedisServer? redis, int port, string jobNode)
    {
        Kind = kind;
        Gateway = gateway;
        Silos = silos;
        _nodes = nodes;
        Redis = redis;
        JobNode = jobNode;
        Endpoint = $"https://127.0.0.1:{port}";
    }

    public DeploymentKind Kind { get; }

    public ServerProcess Gateway { get; }

    /// <summary>The Silo processes: none when combined, one when split, n1 and n2 in a cluster.</summary>
    public IReadOnlyList<ServerProcess> Silos { get; }

    /// <summary>The cluster's own Redis; null but in a cluster. Not one of <see cref="Processes"/>: it is not Jobs.</summary>
    public RedisServer? Redis { get; }

    /// <summary>The node the scenarios' jobs run on (RunRequest.node); empty when the server picks.</summary>
    public string JobNode { get; }

    /// <summary>The processes that spawn the scenarios' jobs: the gateway hosting the silo, the silo, or the job node's silo (both with --spread).</summary>
    public IReadOnlyList<ServerProcess> JobHosts => Kind switch
    {
        DeploymentKind.Combined => [Gateway],
        DeploymentKind.Cluster when JobNode.Length > 0 => [_nodes[JobNode]],
        _ => Silos,
    };

    public string Endpoint { get; }

    /// <summary>The Jobs processes (silos first, then the gateway); Redis is apart.</summary>
    public IEnumerable<ServerProcess> Processes => [.. Silos, Gateway];

    public string Description => Kind switch
    {
        DeploymentKind.Combined => $"combined: Jobs.Gateway pid {Gateway.Pid} hosting the silo, {Endpoint}",
        DeploymentKind.Split => $"split: Jobs.Silo pid {Silos[0].Pid} + Jobs.Gateway pid {Gateway.Pid} (Gateway:Silo=Remote), {Endpoint}",
        _ => $"cluster: {string.Join(" + ", _nodes.Select(n => $"Jobs.Silo {n.Key} pid {n.Value.Pid}"))} on redis-server pid {Redis!.Pid} ({Redis.ConnectionString}) "
            + $"+ Jobs.Gateway pid {Gateway.Pid} (Gateway:Silo=Remote, Redis clustering), {Endpoint}; "
            + (JobNode.Length == 0 ? "jobs placed by load" : $"jobs on {JobNode}"),
    };

    /// <summary>
    /// How each process that runs jobs tracks their trees, as it logged at start ("process groups only" means no
    /// cgroups and no watchdog: its jobs outlive it if it is killed).
    /// </summary>
    public string TreeTracking => string.Join("; ", (Kind == DeploymentKind.Combined ? [Gateway] : Silos)
        .Select(p => $"{p.Name}: {p.LoggedAfter("Job process trees are tracked with ") ?? "not logged"}"));

    /// <summary>A cluster node's Silo process.</summary>
    public ServerProcess SiloOf(string node) => _nodes[node];

    public static async Task<Deployment> StartAsync(BenchPaths paths, BenchOptions options, GrpcClients clients, DeploymentKind kind, CancellationToken cancellationToken)
    {
        int port = FreePorts.Next();
        var gatewayArgs = new List<string>
        {
            $"--Gateway:Listen=127.0.0.1:{port}",
            $"--Gateway:Certificate={Path.Combine(paths.Certs, "server.pem")}",
            $"--Gateway:Key={Path.Combine(paths.Certs, "server.key")}",
            $"--Gateway:ClientCa={Path.Combine(paths.Certs, "client_ca.pem")}",
            // The checkout's development key, and no abuse limits: the bench measures capacity,
            // from one identity. Later --server-arg values override these.
            "--Gateway:AllowReadableKey=true",
            "--Orleans:Tls:AllowReadableKey=true",
            "--Gateway:Limits:CallsPerSecond=100000000",
            "--Gateway:Limits:CallBurst=100000000",
            "--Gateway:Limits:MaxFollowersPerIdentity=1000000",
        };
        // The silo enforces the running-jobs cap.
        // start-rate --accounts: client2's jobs run as root (no switch of user), client1's as a uid of its own.
        string[] extraArgs = ["--Jobs:MaxRunningJobsPerOwner=1000000", .. options.Accounts ? ["--Jobs:Accounts:Identities:client2:0=root"] : Array.Empty<string>(), .. options.ServerArgs];

        switch (kind)
        {
            case DeploymentKind.Combined:
            {
                gatewayArgs.AddRange([$"--Orleans:SiloPort={FreePorts.Next()}", $"--Orleans:GatewayPort={FreePorts.Next()}", .. extraArgs]);
                var combined = await StartGatewayAsync(paths, gatewayArgs, cancellationToken);
                return new Deployment(DeploymentKind.Combined, combined, [], new Dictionary<string, ServerProcess>(), null, port, "");
            }

            case DeploymentKind.Split:
            {
                int orleansGatewayPort = FreePorts.Next();
                var silo = await StartSiloAsync(paths, "Jobs.Silo", FreePorts.Next(), orleansGatewayPort, extraArgs, cancellationToken);
                try
                {
                    gatewayArgs.AddRange([$"--Orleans:GatewayPort={orleansGatewayPort}", "--Gateway:Silo=Remote", .. extraArgs]);
                    var gateway = await StartGatewayAsync(paths, gatewayArgs, cancellationToken);
                    return new Deployment(DeploymentKind.Split, gateway, [silo], new Dictionary<string, ServerProcess>(), null, port, "");
                }
                catch
                {
                    await silo.DisposeAsync();
                    throw;
                }
            }

            default:
                return await StartClusterAsync(paths, options.JobNode, port, gatewayArgs, extraArgs, clients, cancellationToken);
        }
    }

    // Redis, then both silos at once, then the gateway; ready once the gateway lists every node active.
    private static async Task<Deployment> StartClusterAsync(BenchPaths paths, string jobNode, int port, List<string> gatewayArgs, string[] extraArgs, GrpcClients clients, CancellationToken cancellationToken)
    {
        var redis = await StartedAsync(RedisServer.StartAsync(cancellationToken: cancellationToken));
        var silos = new Dictionary<string, ServerProcess>();
        ServerProcess? gateway = null;
        try
        {
            string[] clustering =
            [
                "--Orleans:Clustering=Redis",
                $"--Orleans:Redis={redis.ConnectionString}",
                // The bench's own Redis on loopback, gone with the run: what it measures does not depend on a password.
                "--Orleans:AllowUnauthenticatedRedis=true",
                $"--Orleans:ClusterId=bench-{Guid.NewGuid():N}",
            ];
            var starts = BenchOptions.ClusterNodes.ToDictionary(node => node, node => StartSiloAsync(
                paths, $"Jobs.Silo {node}", FreePorts.Next(), FreePorts.Next(), [.. clustering, "--Orleans:AdvertisedAddress=127.0.0.1", $"--Orleans:NodeName={node}", .. extraArgs], cancellationToken));
            try
            {
                await Task.WhenAll(starts.Values);
            }
            finally
            {
                // Those that did start are stopped below if another did not.
                foreach (var (node, start) in starts.Where(s => s.Value.IsCompletedSuccessfully))
                {
                    silos[node] = start.Result;
                }
            }

            gatewayArgs.AddRange([.. clustering, "--Gateway:Silo=Remote", .. extraArgs]);
            gateway = await StartGatewayAsync(paths, gatewayArgs, cancellationToken);
            var deployment = new Deployment(DeploymentKind.Cluster, gateway, [.. BenchOptions.ClusterNodes.Select(n => silos[n])], silos, redis, port, jobNode);
            await deployment.WaitForNodesAsync(clients, cancellationToken);
            return deployment;
        }
        catch
        {
            if (gateway is not null)
            {
                await gateway.DisposeAsync();
            }

            foreach (var silo in silos.Values)
            {
                await silo.DisposeAsync();
            }

            await redis.DisposeAsync();
            throw;
        }
    }

    private static Task<ServerProcess> StartGatewayAsync(BenchPaths paths, IEnumerable<string> args, CancellationToken cancellationToken) =>
        StartedAsync(ServerProcess.StartAsync("Jobs.Gateway", paths.GatewayDll, "Jobs gateway listening on", args, paths.Root, cancellationToken));

    private static Task<ServerProcess> StartSiloAsync(BenchPaths paths, string name, int siloPort, int gatewayPort, IEnumerable<string> args, CancellationToken cancellationToken) =>
        StartedAsync(ServerProcess.StartAsync(
            name, paths.SiloDll, "Application started", [$"--Orleans:SiloPort={siloPort}", $"--Orleans:GatewayPort={gatewayPort}", "--Orleans:Tls:AllowReadableKey=true", .. args], paths.Root, cancellationToken));

    // The shared helpers say a server did not start with InvalidOperationException, as tests expect; here that means exit code 2.
    private static async Task<T> StartedAsync<T>(Task<T> start)
    {
        try
        {
            return await start;
        }
        catch (InvalidOperationException e)
        {
            throw new ServerStartException(e.Message);
        }
    }

    /// <summary>Asks Nodes every 250 ms until every cluster node is listed active; the cluster did not form (ServerStartException) otherwise.</summary>
    private async Task WaitForNodesAsync(GrpcClients clients, CancellationToken cancellationToken)
    {
        var client = clients.Create(Endpoint);
        var clock = Stopwatch.StartNew();
        string last = "no answer yet";
        while (clock.Elapsed < FormTimeout)
        {
            try
            {
                var nodes = (await client.NodesAsync(new Protos.NodesRequest(), deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken)).Nodes;
                if (BenchOptions.ClusterNodes.All(name => nodes.Any(n => n.Name == name && n.Status == Protos.NodeStatus.Active)))
                {
                    Report.Progress($"the cluster formed: {string.Join(", ", nodes.Select(n => $"{n.Name} {n.Address} {n.Status}"))} after {Units.Seconds(clock.Elapsed)}");
                    return;
                }

                last = string.Join("; ", nodes.Select(n => $"{n.Name} {n.Address} {n.Status}"));
            }
            catch (Grpc.Core.RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                last = $"{e.StatusCode}: {e.Status.Detail}";
            }

            await Task.Delay(250, cancellationToken);
        }

        string logs = string.Join("\n", Processes.Select(p => $"===== {p.Name} pid {p.Pid} =====\n{p.LogTail}"));
        throw new ServerStartException($"the cluster did not list {string.Join(" and ", BenchOptions.ClusterNodes)} active within {FormTimeout.TotalSeconds:F0} s; last Nodes answer: {last}\n{logs}");
    }

    public RssSnapshot Rss() => new(
        Processes.Select(p => (p.Name, p.Pid, Jobs.TestSupport.Processes.Memory(p.Pid))).ToList(),
        Redis is null ? [] : [("redis-server", Redis.Pid, Jobs.TestSupport.Processes.Memory(Redis.Pid))]);

    /// <summary>Gateway first, then the silos, then Redis (the silos write to it as they leave); SIGTERM, then kill. One line per process.</summary>
    public async Task<IReadOnlyList<string>> StopAsync()
    {
        var lines = new List<string> { await Gateway.StopOrKillAsync(StopGrace) };
        foreach (var silo in Silos)
        {
            lines.Add(await silo.StopOrKillAsync(StopGrace));
        }

        if (Redis is not null)
        {
            lines.Add(await Redis.StopOrKillAsync(StopGrace));
        }

        return lines;
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        foreach (var silo in Silos)
        {
            await silo.DisposeAsync();
        }

        if (Redis is not null)
        {
            await Redis.DisposeAsync();
        }
    }
}

/// <summary>VmRSS and VmHWM of each server process at one moment; <paramref name="apart"/> (Redis) is listed but not summed.</summary>
internal sealed class RssSnapshot(
    IReadOnlyList<(string Name, int Pid, (long RssKiB, long HwmKiB)? Memory)> processes,
    IReadOnlyList<(string Name, int Pid, (long RssKiB, long HwmKiB)? Memory)> apart)
{
    public long TotalRssKiB => processes.Sum(p => p.Memory?.RssKiB ?? 0);

    public long TotalHwmKiB => processes.Sum(p => p.Memory?.HwmKiB ?? 0);

    public long RssKiBOf(IEnumerable<ServerProcess> some)
    {
        var pids = some.Select(p => p.Pid).ToHashSet();
        return processes.Where(p => pids.Contains(p.Pid)).Sum(p => p.Memory?.RssKiB ?? 0);
    }

    public override string ToString()
    {
        string each = string.Join(", ", processes.Select(Describe));
        string others = apart.Count == 0 ? "" : $"; not in the sum: {string.Join(", ", apart.Select(Describe))}";
        return $"VmRSS {Units.MB(TotalRssKiB * 1024.0)}, VmHWM {Units.MB(TotalHwmKiB * 1024.0)} (sum; {each}){others}";
    }

    private static string Describe((string Name, int Pid, (long RssKiB, long HwmKiB)? Memory) p) => p.Memory is { } m
        ? $"{p.Name} pid {p.Pid}: {Units.MB(m.RssKiB * 1024.0)} / {Units.MB(m.HwmKiB * 1024.0)}"
        : $"{p.Name} pid {p.Pid}: gone";
}

/// <summary>Samples the server's total VmRSS at a fixed interval until stopped; keeps the maximum.</summary>
internal sealed class RssSampler
{
    private readonly Deployment _deployment;
    private readonly CancellationTokenSource _stop;
    private readonly Task _loop;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private RssSampler(Deployment deployment, TimeSpan interval, CancellationToken cancellationToken)
    {
        _deployment = deployment;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _loop = Task.Run(() => LoopAsync(interval, _stop.Token));
    }

    public long MaxKiB { get; private set; }

    public TimeSpan MaxAt { get; private set; }

    public int Samples { get; private set; }

    public static RssSampler Start(Deployment deployment, TimeSpan interval, CancellationToken cancellationToken) => new(deployment, interval, cancellationToken);

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    public override string ToString() =>
        $"max VmRSS {Units.MB(MaxKiB * 1024.0)} (sum of server processes) at {Units.Seconds(MaxAt)}, {Samples} samples";

    private async Task LoopAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval);
        // Bounded by the scenario's token (its timeout) and, as a backstop, by a count of a day of samples.
        long limit = (long)(TimeSpan.FromDays(1) / interval);
        for (long i = 0; i < limit; i++)
        {
            long total = _deployment.Rss().TotalRssKiB;
            Samples++;
            if (total > MaxKiB)
            {
                MaxKiB = total;
                MaxAt = _clock.Elapsed;
            }

            try
            {
                if (!await timer.WaitForNextTickAsync(cancellationToken))
                {
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
