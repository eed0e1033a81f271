using System.Diagnostics;
using System.Globalization;

namespace Jobs.Bench;

/// <summary>
/// The gRPC ceiling as a scenario's baseline: <c>Jobs.Bench.Ceiling</c>, the gateway's own Kestrel,
/// TLS 1.3 and gRPC set-up serving <c>Logs</c> of the flood pattern from memory, followed by the
/// same <see cref="Follower"/> (same client, same checks) as the figure it is compared with, in the
/// messages of the same size the server sent that follower (on average). What the job runner's path
/// costs is what it adds to this. Run it once the server has stopped, so neither shares the cores.
/// </summary>
internal static class GrpcCeiling
{
    private const string ReadyLine = "Jobs gRPC ceiling listening on ";
    private const long WarmUpBytes = 2 * Units.GiB;

    public sealed record Figures(double Rate, TimeSpan LastByte, double ServerCpuPerGiB, double BenchCpuPerGiB);

    /// <summary>
    /// A warm-up follow, then the timed one of <paramref name="bytes"/> in messages of the average size
    /// <paramref name="like"/> got, reported as "baseline" with both processes' CPU per GiB; null, with the
    /// failure reported, when the ceiling did not deliver every byte right.
    /// </summary>
    public static async Task<Figures?> MeasureAsync(ScenarioContext ctx, long bytes, Follower like)
    {
        // The ceiling's messages are at most the gateway's largest, which it says at start.
        long messageSize = Math.Max(1, (like.Bytes + like.Messages - 1) / Math.Max(1, like.Messages));
        Report.Progress($"baseline: the gRPC ceiling sending {Units.Size(bytes)} from memory in messages of {messageSize} B");
        var (server, port) = await StartAsync(ctx);
        try
        {
            var client = ctx.Clients.Create($"https://127.0.0.1:{port}");
            // Its tiered JIT needs about a GiB to settle (5 follows of 1 GiB from a fresh start took
            // 3.8, 2.4, 2.0, 1.6 and 1.4 s of its CPU); a ceiling is measured on settled code.
            var warm = new Follower("ceiling warm-up");
            await warm.FollowAsync(client, JobId(server, WarmUpBytes, messageSize), WarmUpBytes, Stopwatch.StartNew(), 0, ctx.Token);
            if (!warm.Complete)
            {
                ctx.Report.Failure($"baseline warm-up: {warm.Error}");
                return null;
            }

            await Task.Delay(TimeSpan.FromSeconds(1), ctx.Token);
            var serverCpu = Processes.CpuTime(server.Pid);
            var benchCpu = CpuMeter.BenchCpu();
            var clock = Stopwatch.StartNew();
            var follower = new Follower("ceiling follower");
            ctx.WhileRunning("ceiling follower", () => $"{follower.Describe()} at {Units.Seconds(clock.Elapsed)}");
            await follower.FollowAsync(client, JobId(server, bytes, messageSize), bytes, clock, 0, ctx.Token);
            double gib = (double)bytes / Units.GiB;
            var figures = new Figures(
                Units.Rate(follower.Bytes, follower.LastByteOrEnd),
                follower.LastByteOrEnd,
                (Processes.CpuTime(server.Pid) - serverCpu).TotalSeconds / gib,
                (CpuMeter.BenchCpu() - benchCpu).TotalSeconds / gib);
            ctx.Report.Line("baseline", $"the gRPC ceiling (Jobs.Bench.Ceiling: the gateway's Kestrel, TLS and gRPC, from memory, no job, messages of the server's average size): "
                + $"{Units.Seconds(figures.LastByte)} to last byte, {Units.MBps(figures.Rate)}; CPU per GiB: ceiling server {figures.ServerCpuPerGiB:F2} s, bench client {figures.BenchCpuPerGiB:F2} s; {follower.Messages} messages");
            if (!follower.Complete)
            {
                ctx.Report.Failure($"baseline: {follower.Error}");
                return null;
            }

            return figures;
        }
        finally
        {
            await server.StopOrKillAsync(TimeSpan.FromSeconds(10));
            await server.DisposeAsync();
        }
    }

    /// <summary>The ceiling on a free loopback port, with the development certificates.</summary>
    public static async Task<(ServerProcess Server, int Port)> StartAsync(ScenarioContext ctx)
    {
        int port = FreePorts.Next();
        string certs = ctx.Paths.Certs;
        string[] args =
        [
            $"--Gateway:Listen=127.0.0.1:{port}",
            $"--Gateway:Certificate={Path.Combine(certs, "server.pem")}",
            $"--Gateway:Key={Path.Combine(certs, "server.key")}",
            $"--Gateway:ClientCa={Path.Combine(certs, "client_ca.pem")}",
            "--Gateway:AllowReadableKey=true",
        ];
        try
        {
            return (await ServerProcess.StartAsync("Jobs.Bench.Ceiling", ctx.Paths.CeilingDll, ReadyLine, args, ctx.Paths.Root, ctx.Token), port);
        }
        catch (InvalidOperationException e)
        {
            throw new ServerStartException(e.Message);
        }
    }

    /// <summary>The ceiling's job id for <paramref name="bytes"/> in messages of <paramref name="messageSize"/> (at most its largest).</summary>
    public static string JobId(ServerProcess server, long bytes, long messageSize) => $"{Id(bytes)}@{Math.Min(messageSize, MaxMessage(server))}";

    // "ADDRESS, N B messages": the largest message the ceiling sends (the gateway's largest).
    private static long MaxMessage(ServerProcess server) =>
        long.Parse(server.LoggedAfter(ReadyLine)!.Split(", ")[^1].Split(' ')[0], CultureInfo.InvariantCulture);

    // The ceiling's job id is the number of bytes it sends.
    private static string Id(long bytes) => bytes.ToString(CultureInfo.InvariantCulture);
}
