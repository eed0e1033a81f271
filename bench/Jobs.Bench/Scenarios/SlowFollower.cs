using System.Diagnostics;

namespace Jobs.Bench.Scenarios;

/// <summary>
/// A 4 GiB job with a full-speed follower and one reading at 1 MB/s, server RSS sampled throughout,
/// against a reference run without the slow follower on a fresh server of the same kind.
/// </summary>
internal static class SlowFollower
{
    public const double RssLimitBytes = 300e6;
    public const double FastTarget = 0.8;
    public const double JobTimeLimit = 1.25;

    public static async Task RunAsync(ScenarioContext ctx)
    {
        long bytes = ctx.Options.Bytes ?? 4 * Units.GiB;
        double pace = ctx.Options.SlowRate;
        var interval = TimeSpan.FromMilliseconds(ctx.Options.SampleMs);
        ctx.Report.Line("parameters", $"bytes={Units.Size(bytes)} ({bytes} B), write-size={Units.Size(ctx.Options.WriteSize)}, slow follower at {Units.MBps(pace)}, RSS sampled every {interval.TotalMilliseconds:F0} ms, followers on separate channels, check: {PatternChecker.Method}");

        // Reference: the fast follower alone, on a server of its own so the two runs hold the same output.
        var reference = await ctx.StartServerAsync("reference");
        var referenceClient = ctx.Clients.Create(reference.Endpoint);
        await ctx.WarmUpAsync(referenceClient);
        Report.Progress($"reference: one follower of a {Units.Size(bytes)} job");
        var referenceSampler = RssSampler.Start(reference, interval, ctx.Token);
        var (alone, _) = await ctx.LiveFollowAsync(referenceClient, bytes, "reference follower");
        await referenceSampler.StopAsync();
        ctx.Report.Line("reference follower", alone.Describe());
        bool referenceExact = ctx.Report.Checked(alone, "reference exact");
        ctx.Report.Line("reference RSS", referenceSampler.ToString());
        double aloneRate = 0;
        var aloneJob = TimeSpan.Zero;
        if (referenceExact)
        {
            aloneRate = Units.Rate(alone.Bytes, alone.LastByteOrEnd);
            aloneJob = StatusText.Duration(alone.End) ?? TimeSpan.Zero;
            ctx.Report.Line("reference", $"fast follower alone: Run call to last byte {Units.Seconds(alone.LastByteOrEnd)}, {Units.MBps(aloneRate)}; job ran {Units.Seconds(aloneJob)}");
        }

        await ctx.StopServerAsync(reference, "reference");
        if (!referenceExact)
        {
            return;
        }

        var server = await ctx.StartServerAsync("slow run");
        var fastClient = ctx.Clients.Create(server.Endpoint);
        var slowClient = ctx.Clients.Create(server.Endpoint);
        string warmJob = await ctx.WarmUpAsync(fastClient);
        await slowClient.PsAsync(new Protos.PsRequest { JobId = warmJob }, cancellationToken: ctx.Token);

        Report.Progress($"a fast and a slow follower of a {Units.Size(bytes)} job");
        var sampler = RssSampler.Start(server, interval, ctx.Token);
        var cpu = CpuMeter.Start(server);
        var clock = Stopwatch.StartNew();
        var run = await fastClient.RunAsync(ctx.Flood(bytes, ctx.Options.WriteSize), cancellationToken: ctx.Token);
        var fast = new Follower("fast follower");
        var slow = new Follower("slow follower");
        using var stopSlow = new CancellationTokenSource();
        ctx.WhileRunning("fast follower", () => $"{fast.Describe()} at {Units.Seconds(clock.Elapsed)}");
        ctx.WhileRunning("slow follower", () => slow.Describe());
        ctx.WhileRunning("RSS", () => sampler.ToString());
        var slowTask = Task.Run(() => slow.FollowAsync(slowClient, run.JobId, bytes, clock, pace, ctx.Token, stopSlow.Token), ctx.Token);
        await fast.FollowAsync(fastClient, run.JobId, bytes, clock, 0, ctx.Token);
        var fastDone = clock.Elapsed;
        string cpuUsed = cpu.Read();

        // The fast follower's end message means the job has ended: the slow one has seen enough.
        await stopSlow.CancelAsync();
        await slowTask;
        var slowStopped = clock.Elapsed;
        await sampler.StopAsync();
        var hwm = server.Rss();

        ctx.Report.Line("fast follower", fast.Describe());
        ctx.Report.Line("cpu", $"{cpuUsed} (until the fast follower's end)");
        ctx.Report.Line("slow follower", $"{slow.Describe()}; {Units.MBps(Units.Rate(slow.Bytes, slowStopped))} on average");
        bool fastExact = ctx.Report.Checked(fast, "fast exact");
        bool slowExact = ctx.Report.Checked(slow, "slow exact", dropsExpected: true);
        if (fastExact && slowExact)
        {
            double fastRate = Units.Rate(fast.Bytes, fast.LastByteOrEnd);
            var job = StatusText.Duration(fast.End) ?? fastDone;
            ctx.Report.Line("figure (RSS)", $"{sampler}; VmHWM now {Units.MB(hwm.TotalHwmKiB * 1024.0)} (sum)");
            ctx.Report.Line("figure (fast)", $"Run call to last byte {Units.Seconds(fast.LastByteOrEnd)}, {Units.MBps(fastRate)}");
            ctx.Report.Line("figure (job)", $"job ran {Units.Seconds(job)} (started_at to ended_at)");
            ctx.Report.Line("target", $"server RSS <= {Units.MB(RssLimitBytes)} throughout; fast follower >= {FastTarget:F1} x reference ({Units.MBps(FastTarget * aloneRate)}); job time <= {JobTimeLimit:F2} x reference ({Units.Seconds(JobTimeLimit * aloneJob)})");
            double maxRss = sampler.MaxKiB * 1024.0;
            ctx.Report.Verdict("RSS", maxRss <= RssLimitBytes, $"max/limit = {Units.Ratio(maxRss / RssLimitBytes)} (target <= 1.000)");
            ctx.Report.Verdict("fast", fastRate >= FastTarget * aloneRate, $"figure/reference = {Units.Ratio(fastRate / aloneRate)} (target >= {FastTarget:F3})");
            ctx.Report.Verdict("job", job <= JobTimeLimit * aloneJob, $"time/reference = {Units.Ratio(job / aloneJob)} (target <= {JobTimeLimit:F3})");
        }

        await ctx.StopServerAsync(server, "slow run");
    }
}
