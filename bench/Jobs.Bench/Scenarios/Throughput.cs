namespace Jobs.Bench.Scenarios;

/// <summary>One follower of a job writing 1 GiB in 64 KiB writes, Run call to last byte, against .NET reading the same child's pipe.</summary>
internal static class Throughput
{
    public const double Target = 0.5;

    // A Silo and a Gateway process add an Orleans connection (TLS) and a process hop per byte.
    public const double SplitTarget = 0.35;

    public static async Task RunAsync(ScenarioContext ctx)
    {
        long bytes = ctx.Options.Bytes ?? Units.GiB;
        ctx.Report.Line("parameters", $"bytes={Units.Size(bytes)} ({bytes} B), write-size={Units.Size(ctx.Options.WriteSize)}, 1 follower, check: {PatternChecker.Method}");

        if (await Baselines.PipeRateAsync(ctx, bytes) is not { } baseRate)
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
        ctx.Report.Line("follower", $"Run call {Units.Seconds(runCall)}, {follower.Describe()}");
        ctx.Report.Line("cpu", cpuUsed);
        if (ctx.Report.Checked(follower))
        {
            var time = follower.LastByteOrEnd;
            double rate = Units.Rate(follower.Bytes, time);
            ctx.Report.Line("figure", $"Run call to last byte: {Units.Seconds(time)}, {Units.MBps(rate)}");
            double target = ctx.Options.Kind == DeploymentKind.Split ? SplitTarget : Target;
            ctx.Report.Line("target", $">= {target:F2} x baseline = {Units.MBps(target * baseRate)}");
            ctx.Report.Verdict("", rate >= target * baseRate, $"figure/baseline = {Units.Ratio(rate / baseRate)} (target >= {target:F3})");
        }

        await ctx.StopServerAsync(server);
    }
}
