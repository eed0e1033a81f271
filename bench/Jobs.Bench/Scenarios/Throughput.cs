namespace Jobs.Bench.Scenarios;

/// <summary>
/// One follower of a job writing 1 GiB in 64 KiB writes, Run call to last byte, against the gRPC
/// ceiling (the same bytes, message size, TLS and client from a server that holds them in memory);
/// split and cluster against the one-command server of the same run. .NET reading the same
/// child's pipe is printed as a reference.
/// </summary>
internal static class Throughput
{
    public const double Target = 0.8;

    // Per GiB delivered; the bench client's CPU is the follower's (TLS, HTTP/2, protobuf, the pattern check).
    public const double ServerCpuTarget = 2.0;
    public const double ClientCpuTarget = 1.0;

    // A Silo and a Gateway process add an Orleans connection (TLS) and a process hop per byte:
    // split and cluster against the one-command rate of the same run.
    public const double SplitTarget = 0.5;

    public static async Task RunAsync(ScenarioContext ctx)
    {
        long bytes = ctx.Options.Bytes ?? Units.GiB;
        ctx.Report.Line("parameters", $"bytes={Units.Size(bytes)} ({bytes} B), write-size={Units.Size(ctx.Options.WriteSize)}, 1 follower, check: {PatternChecker.Method}");

        if (await Baselines.PipeRateAsync(ctx, bytes, "reference") is not { } pipeRate)
        {
            return;
        }

        double? combinedRate = null;
        if (ctx.Options.Kind != DeploymentKind.Combined)
        {
            combinedRate = await CombinedRateAsync(ctx, bytes);
            if (combinedRate is null)
            {
                return;
            }
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
                double one = combinedRate!.Value;
                ctx.Report.Line("target", $">= {SplitTarget:F2} x the one-command rate = {Units.MBps(SplitTarget * one)} (and the ceiling's {Units.MBps(ceiling.Rate)}: {Units.Ratio(rate / ceiling.Rate)} x)");
                ctx.Report.Verdict("", rate >= SplitTarget * one, $"figure/one-command = {Units.Ratio(rate / one)} (target >= {SplitTarget:F3})");
            }

            // The CPU targets are the one-command server's; split and cluster print theirs beside them.
            ctx.Report.Verdict(ctx.Options.Kind == DeploymentKind.Combined ? "server cpu" : "server cpu, one-command target", serverCpu <= ServerCpuTarget,
                $"{serverCpu:F2} s per GiB in the server processes (target <= {ServerCpuTarget:F1}; the ceiling's server {ceiling.ServerCpuPerGiB:F2})");
            ctx.Report.Verdict("client cpu", benchCpu <= ClientCpuTarget,
                $"{benchCpu:F2} s per GiB in the bench (target <= {ClientCpuTarget:F1}; against the ceiling {ceiling.BenchCpuPerGiB:F2})");
        }
    }

    // The one-command server's rate for the same bytes, after the same warm-up: the split and
    // cluster baseline. Null, with the failure reported, when its follower did not get every byte right.
    private static async Task<double?> CombinedRateAsync(ScenarioContext ctx, long bytes)
    {
        var server = await ctx.StartServerAsync("the one-command baseline", DeploymentKind.Combined);
        var client = ctx.Clients.Create(server.Endpoint);
        await ctx.WarmUpAsync(client, server);
        if (await ctx.LiveRateAsync(client, server, bytes, "one-command") is not (var rate, var time))
        {
            return null;
        }

        ctx.Report.Line("one-command", $"the same {Units.Size(bytes)} from the one-command server, Run call to last byte: {Units.Seconds(time)}, {Units.MBps(rate)}");
        await ctx.StopServerAsync(server, "the one-command baseline");
        return rate;
    }
}
