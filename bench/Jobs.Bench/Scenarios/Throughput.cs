namespace Jobs.Bench.Scenarios;

/// <summary>
/// One follower of a job writing 1 GiB in 64 KiB writes, Run call to last byte, against the gRPC
/// ceiling (the same bytes, message size, TLS and client from a server that holds them in memory);
/// .NET reading the same child's pipe is printed as a reference.
/// </summary>
internal static class Throughput
{
    public const double Target = 0.8;

    // Per GiB delivered; the bench client's CPU is the follower's (TLS, HTTP/2, protobuf, the pattern check).
    public const double ServerCpuTarget = 2.0;
    public const double ClientCpuTarget = 1.0;

    // A Silo and a Gateway process add an Orleans connection (TLS) and a process hop per byte.
    public const double SplitTarget = 0.35;

    public static async Task RunAsync(ScenarioContext ctx)
    {
        long bytes = ctx.Options.Bytes ?? Units.GiB;
        ctx.Report.Line("parameters", $"bytes={Units.Size(bytes)} ({bytes} B), write-size={Units.Size(ctx.Options.WriteSize)}, 1 follower, check: {PatternChecker.Method}");

        if (await Baselines.PipeRateAsync(ctx, bytes, "reference") is not { } pipeRate)
        {
            return;
        }

        var server = await ctx.StartServerAsync();
        var client = ctx.Clients.Create(server.Endpoint);
        await ctx.WarmUpAsync(client);

        Report.Progress($"following a {Units.Size(bytes)} job live");
        var cpu = CpuMeter.Start(server);
        var (follower, runCall) = await ctx.LiveFollowAsync(client, bytes, "follower");
        string cpuUsed = cpu.Read();
        var (serverCpu, benchCpu) = cpu.PerGiB(bytes);
        ctx.Report.Line("follower", $"Run call {Units.Seconds(runCall)}, {follower.Describe()}");
        ctx.Report.Line("cpu", cpuUsed);
        await ctx.StopServerAsync(server);
        if (ctx.Report.Checked(follower) && await GrpcCeiling.MeasureAsync(ctx, bytes, follower) is { } ceiling)
        {
            var time = follower.LastByteOrEnd;
            double rate = Units.Rate(follower.Bytes, time);
            ctx.Report.Line("figure", $"Run call to last byte: {Units.Seconds(time)}, {Units.MBps(rate)} ({Units.Ratio(rate / pipeRate)} x the pipe read)");
            if (ctx.Options.Kind == DeploymentKind.Combined)
            {
                ctx.Report.Line("target", $">= {Target:F2} x baseline = {Units.MBps(Target * ceiling.Rate)}");
                ctx.Report.Verdict("", rate >= Target * ceiling.Rate, $"figure/baseline = {Units.Ratio(rate / ceiling.Rate)} (target >= {Target:F3})");
            }
            else
            {
                // The split and cluster targets are against the pipe read still (their issue-24 target,
                // 0.5 x the one-command rate of the same run, is not measured yet).
                ctx.Report.Line("target", $">= {SplitTarget:F2} x the pipe read = {Units.MBps(SplitTarget * pipeRate)}");
                ctx.Report.Verdict("", rate >= SplitTarget * pipeRate, $"figure/pipe read = {Units.Ratio(rate / pipeRate)} (target >= {SplitTarget:F3})");
            }

            ctx.Report.Verdict("server cpu", serverCpu <= ServerCpuTarget,
                $"{serverCpu:F2} s per GiB in the server processes (target <= {ServerCpuTarget:F1}; the ceiling's server {ceiling.ServerCpuPerGiB:F2})");
            ctx.Report.Verdict("client cpu", benchCpu <= ClientCpuTarget,
                $"{benchCpu:F2} s per GiB in the bench (target <= {ClientCpuTarget:F1}; against the ceiling {ceiling.BenchCpuPerGiB:F2})");
        }
    }
}
