using System.Diagnostics;

namespace Jobs.Bench;

/// <summary>CPU time the server processes and the bench itself used over an interval, to tell whose CPU a figure is spent on (the machine's cores are shared).</summary>
internal sealed class CpuMeter
{
    private readonly Deployment _deployment;
    private readonly TimeSpan _server;
    private readonly TimeSpan _redis;
    private readonly TimeSpan _bench;
    private readonly Stopwatch _wall = Stopwatch.StartNew();

    private CpuMeter(Deployment deployment)
    {
        _deployment = deployment;
        _server = ServerCpu(deployment);
        _redis = RedisCpu(deployment);
        _bench = BenchCpu();
    }

    public static CpuMeter Start(Deployment deployment) => new(deployment);

    /// <summary>"server X s, bench Y s of CPU over Z s wall (N cores)", and the cluster's Redis apart.</summary>
    public string Read()
    {
        var wall = _wall.Elapsed;
        var server = ServerCpu(_deployment) - _server;
        var bench = BenchCpu() - _bench;
        string redis = _deployment.Redis is null ? "" : $", redis-server {(RedisCpu(_deployment) - _redis).TotalSeconds:F2} s";
        return $"server {server.TotalSeconds:F2} s, bench {bench.TotalSeconds:F2} s{redis} of CPU over {wall.TotalSeconds:F2} s wall ({Environment.ProcessorCount} cores; jobs not counted)";
    }

    private static TimeSpan ServerCpu(Deployment deployment) =>
        deployment.Processes.Aggregate(TimeSpan.Zero, (sum, p) => sum + Processes.CpuTime(p.Pid));

    private static TimeSpan RedisCpu(Deployment deployment) =>
        deployment.Redis is { } redis ? Processes.CpuTime(redis.Pid) : TimeSpan.Zero;

    /// <summary>Server and bench CPU used since the start, in seconds per GiB of <paramref name="bytes"/>.</summary>
    public (double Server, double Bench) PerGiB(long bytes)
    {
        double gib = (double)bytes / Units.GiB;
        return ((ServerCpu(_deployment) - _server).TotalSeconds / gib, (BenchCpu() - _bench).TotalSeconds / gib);
    }

    /// <summary>Server CPU used since the start, in milliseconds per one of <paramref name="count"/> calls.</summary>
    public double ServerMillisPer(int count) => (ServerCpu(_deployment) - _server).TotalMilliseconds / count;

    /// <summary>The CPU time this process (the bench and its gRPC client) has used.</summary>
    public static TimeSpan BenchCpu()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }
}
