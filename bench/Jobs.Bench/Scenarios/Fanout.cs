using System.Diagnostics;

namespace Jobs.Bench.Scenarios;

/// <summary>
/// 32 concurrent followers of one job writing 256 MiB, all byte-exact; aggregate = followers × bytes
/// (delivered) / time to the last end message, against one follower of the same job size on the
/// same server just after (its rate, Run call to last byte; the peak RSS is read before it); and the server's peak RSS. .NET
/// reading the same child's pipe is printed as a reference.
/// </summary>
internal static class Fanout
{
    public const double Target = 2.0;
    public const double RssLimitMB = 300;

    public static async Task RunAsync(ScenarioContext ctx)
    {
        long bytes = ctx.Options.Bytes ?? 256 * Units.MiB;
        int count = ctx.Options.Followers ?? 32;
        int channels = Math.Min(ctx.Options.Channels, count);
        ctx.Report.Line("parameters", $"bytes={Units.Size(bytes)} ({bytes} B), write-size={Units.Size(ctx.Options.WriteSize)}, followers={count} on {channels} channel(s) (round-robin), check: {PatternChecker.Method}");

        if (await Baselines.PipeRateAsync(ctx, bytes, "reference") is null)
        {
            return;
        }

        var server = await ctx.StartServerAsync();
        var clients = Enumerable.Range(0, channels).Select(_ => ctx.Clients.Create(server.Endpoint)).ToList();
        string warmJob = await ctx.WarmUpAsync(clients[0]);
        foreach (var client in clients)
        {
            // Opens each channel's connection before the clock starts.
            await client.PsAsync(new Protos.PsRequest { JobId = warmJob }, cancellationToken: ctx.Token);
        }

        Report.Progress($"{count} followers of a {Units.Size(bytes)} job");
        var cpu = CpuMeter.Start(server);
        var clock = Stopwatch.StartNew();
        var run = await clients[0].RunAsync(ctx.Flood(bytes, ctx.Options.WriteSize), cancellationToken: ctx.Token);
        var runCall = clock.Elapsed;
        var followers = Enumerable.Range(0, count).Select(i => new Follower($"follower {i}")).ToList();
        ctx.WhileRunning("followers", () =>
            $"{followers.Count(f => f.End is not null)} of {count} ended, bytes per follower min {followers.Min(f => f.Bytes)} max {followers.Max(f => f.Bytes)} at {Units.Seconds(clock.Elapsed)}");
        await Task.WhenAll(followers.Select((follower, i) =>
            Task.Run(() => follower.FollowAsync(clients[i % channels], run.JobId, bytes, clock, 0, ctx.Token), ctx.Token)));
        string cpuUsed = cpu.Read();

        bool allExact = true;
        foreach (var follower in followers)
        {
            allExact &= follower.Error is null && follower.End is not null;
            if (follower.Error is not null || follower.End is null)
            {
                ctx.Report.Checked(follower);
            }
        }

        // The fan-out's peak, before the baseline's follow adds its own.
        double peakMB = server.Rss().TotalHwmKiB * 1024.0 / 1e6;
        if (allExact)
        {
            Report.Progress($"baseline: one follower of a {Units.Size(bytes)} job");
            if (await ctx.LiveRateAsync(clients[0], server, bytes, "single") is not (var baseRate, var singleTime))
            {
                return;
            }

            ctx.Report.Line("baseline", $"one follower of the same job size on this server, Run call to last byte: {Units.Seconds(singleTime)}, {Units.MBps(baseRate)}");
            var ends = followers.Select(f => f.EndReceived!.Value).Order().ToList();
            var firsts = followers.Select(f => f.FirstByte ?? TimeSpan.Zero).Order().ToList();
            var last = ends[^1];
            long delivered = followers.Sum(f => f.Bytes);
            double aggregate = delivered / last.TotalSeconds;
            ctx.Report.Line("followers", $"Run call {Units.Seconds(runCall)}; end message min {Units.Seconds(ends[0])}, median {Units.Seconds(ends[ends.Count / 2])}, max {Units.Seconds(last)}; first byte max {Units.Seconds(firsts[^1])}");
            ctx.Report.Line("cpu", cpuUsed);
            ctx.Report.Line("byte-exact", $"yes, all {count} followers: {delivered} bytes in all, offsets continuous, end: {StatusText.Of(followers[0].End)}");
            if (followers.Any(f => f.Drops > 0))
            {
                ctx.Report.Dropped($"{followers.Count(f => f.Drops > 0)} followers", followers.Sum(f => f.DroppedBytes), followers.Sum(f => f.Drops));
            }

            string amount = delivered == count * bytes ? $"{count} x {Units.Size(bytes)}" : $"{delivered} bytes delivered";
            ctx.Report.Line("figure", $"aggregate {amount} / {Units.Seconds(last)} (Run call to last end message) = {Units.GBps(aggregate)} ({Units.MBps(aggregate / count)} per follower)");
            ctx.Report.Line("target", $">= {Target:F2} x baseline = {Units.GBps(Target * baseRate)} aggregate; server peak RSS (VmHWM) <= {RssLimitMB:F0} MB");
            ctx.Report.Verdict("", aggregate >= Target * baseRate, $"figure/baseline = {Units.Ratio(aggregate / baseRate)} (target >= {Target:F3})");
            ctx.Report.Verdict("RSS", peakMB <= RssLimitMB, $"peak {peakMB:F1} MB / limit = {Units.Ratio(peakMB / RssLimitMB)} (target <= 1.000)");
        }

        await ctx.StopServerAsync(server);
    }
}
