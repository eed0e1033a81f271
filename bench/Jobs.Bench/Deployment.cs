using System.Diagnostics;

namespace Jobs.Bench;

/// <summary>
/// The server as the scenario runs it: the one-command gateway hosting the silo (combined), or a Silo
/// process plus a gateway connected to it (split), on free loopback ports with absolute certificate paths.
/// </summary>
internal sealed class Deployment : IAsyncDisposable
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(30);

    private Deployment(ServerProcess gateway, ServerProcess? silo, int port)
    {
        Gateway = gateway;
        Silo = silo;
        Endpoint = $"https://127.0.0.1:{port}";
    }

    public ServerProcess Gateway { get; }

    public ServerProcess? Silo { get; }

    /// <summary>The process that hosts the grains (and spawns the jobs).</summary>
    public ServerProcess SiloHost => Silo ?? Gateway;

    public string Endpoint { get; }

    public IEnumerable<ServerProcess> Processes => Silo is null ? [Gateway] : [Silo, Gateway];

    public string Description => Silo is null
        ? $"combined: Jobs.Gateway pid {Gateway.Pid} hosting the silo, {Endpoint}"
        : $"split: Jobs.Silo pid {Silo.Pid} + Jobs.Gateway pid {Gateway.Pid} (Gateway:Silo=Remote), {Endpoint}";

    public static async Task<Deployment> StartAsync(BenchPaths paths, bool split, IReadOnlyList<string> extraArgs, CancellationToken cancellationToken)
    {
        int port = FreePorts.Next();
        int siloPort = FreePorts.Next();
        int orleansGatewayPort = FreePorts.Next();
        var gatewayArgs = new List<string>
        {
            $"--Gateway:Listen=127.0.0.1:{port}",
            $"--Gateway:Certificate={Path.Combine(paths.Certs, "server.pem")}",
            $"--Gateway:Key={Path.Combine(paths.Certs, "server.key")}",
            $"--Gateway:ClientCa={Path.Combine(paths.Certs, "client_ca.pem")}",
            $"--Orleans:GatewayPort={orleansGatewayPort}",
            // The checkout's development key, and no abuse limits: the bench measures capacity,
            // from one identity. Later --server-arg values override these.
            "--Gateway:AllowReadableKey=true",
            "--Orleans:Tls:AllowReadableKey=true",
            "--Gateway:Limits:CallsPerSecond=100000000",
            "--Gateway:Limits:CallBurst=100000000",
            "--Gateway:Limits:MaxFollowersPerIdentity=1000000",
        };
        // The silo enforces the running-jobs cap.
        extraArgs = ["--Jobs:MaxRunningJobsPerOwner=1000000", .. extraArgs];

        if (!split)
        {
            gatewayArgs.Add($"--Orleans:SiloPort={siloPort}");
            gatewayArgs.AddRange(extraArgs);
            var combined = await ServerProcess.StartAsync("Jobs.Gateway", paths.GatewayDll, "Jobs gateway listening on", gatewayArgs, paths.Root, cancellationToken);
            return new Deployment(combined, null, port);
        }

        var silo = await ServerProcess.StartAsync(
            "Jobs.Silo", paths.SiloDll, "Application started", [$"--Orleans:SiloPort={siloPort}", $"--Orleans:GatewayPort={orleansGatewayPort}", "--Orleans:Tls:AllowReadableKey=true", .. extraArgs], paths.Root, cancellationToken);
        try
        {
            gatewayArgs.Add("--Gateway:Silo=Remote");
            gatewayArgs.AddRange(extraArgs);
            var gateway = await ServerProcess.StartAsync("Jobs.Gateway", paths.GatewayDll, "Jobs gateway listening on", gatewayArgs, paths.Root, cancellationToken);
            return new Deployment(gateway, silo, port);
        }
        catch
        {
            await silo.DisposeAsync();
            throw;
        }
    }

    public RssSnapshot Rss() => new(Processes.Select(p => (p.Name, p.Pid, ProcStatus.Memory(p.Pid))).ToList());

    /// <summary>Gateway first, then the silo; SIGTERM, then kill. One line per process.</summary>
    public async Task<IReadOnlyList<string>> StopAsync()
    {
        var lines = new List<string> { await Gateway.StopAsync(StopGrace) };
        if (Silo is not null)
        {
            lines.Add(await Silo.StopAsync(StopGrace));
        }

        return lines;
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        if (Silo is not null)
        {
            await Silo.DisposeAsync();
        }
    }
}

/// <summary>VmRSS and VmHWM of each server process at one moment.</summary>
internal sealed class RssSnapshot(IReadOnlyList<(string Name, int Pid, (long RssKiB, long HwmKiB)? Memory)> processes)
{
    public long TotalRssKiB => processes.Sum(p => p.Memory?.RssKiB ?? 0);

    public long TotalHwmKiB => processes.Sum(p => p.Memory?.HwmKiB ?? 0);

    public long RssKiBOf(string name) => processes.Where(p => p.Name == name).Sum(p => p.Memory?.RssKiB ?? 0);

    public override string ToString()
    {
        string each = string.Join(", ", processes.Select(p => p.Memory is { } m
            ? $"{p.Name} pid {p.Pid}: {Units.MB(m.RssKiB * 1024.0)} / {Units.MB(m.HwmKiB * 1024.0)}"
            : $"{p.Name} pid {p.Pid}: gone"));
        return $"VmRSS {Units.MB(TotalRssKiB * 1024.0)}, VmHWM {Units.MB(TotalHwmKiB * 1024.0)} (sum; {each})";
    }
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
