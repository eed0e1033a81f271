using System.Diagnostics;
using Jobs.Protos;

namespace Jobs.Bench.Scenarios;

/// <summary>A follower attaching after a 512 MiB job ended, against a live throughput run of the same size on the same server.</summary>
internal static class Late
{
    public const double Target = 0.8;

    public static async Task RunAsync(ScenarioContext ctx)
    {
        long bytes = ctx.Options.Bytes ?? 512 * Units.MiB;
        ctx.Report.Line("parameters", $"bytes={Units.Size(bytes)} ({bytes} B), write-size={Units.Size(ctx.Options.WriteSize)}, check: {PatternChecker.Method}");

        var server = await ctx.StartServerAsync();
        var client = ctx.Clients.Create(server.Endpoint);
        await ctx.WarmUpAsync(client);

        Report.Progress($"reference: following a {Units.Size(bytes)} job live");
        var (live, _) = await ctx.LiveFollowAsync(client, bytes, "live follower");
        ctx.Report.Line("reference follower", live.Describe());
        if (!ctx.Report.Checked(live, "reference exact"))
        {
            await ctx.StopServerAsync(server);
            return;
        }

        double liveRate = Units.Rate(live.Bytes, live.LastByteOrEnd);
        ctx.Report.Line("reference", $"throughput at the same size (Run call to last byte): {Units.Seconds(live.LastByteOrEnd)}, {Units.MBps(liveRate)}");

        Report.Progress($"a {Units.Size(bytes)} job without followers, waiting for its end");
        var run = await client.RunAsync(ctx.Flood(bytes, ctx.Options.WriteSize), cancellationToken: ctx.Token);
        var status = await WaitEndedAsync(client, run.JobId, ctx.Token);
        ctx.Report.Line("late job", $"{StatusText.Of(status)}, ran {Units.Seconds(StatusText.Duration(status) ?? TimeSpan.Zero)}, {status.StdoutBytes} stdout bytes");

        Report.Progress("attaching a follower to the ended job");
        var cpu = CpuMeter.Start(server);
        var clock = Stopwatch.StartNew();
        var late = new Follower("late follower");
        ctx.WhileRunning("late follower", () => $"{late.Describe()} at {Units.Seconds(clock.Elapsed)}");
        await late.FollowAsync(client, run.JobId, bytes, clock, 0, ctx.Token);
        ctx.Report.Line("late follower", late.Describe());
        ctx.Report.Line("cpu", cpu.Read());
        if (ctx.Report.Checked(late))
        {
            double rate = Units.Rate(late.Bytes, late.LastByteOrEnd);
            ctx.Report.Line("figure", $"Logs call to last byte: {Units.Seconds(late.LastByteOrEnd)}, {Units.MBps(rate)}");
            ctx.Report.Line("target", $">= {Target:F1} x reference = {Units.MBps(Target * liveRate)}");
            ctx.Report.Verdict("", rate >= Target * liveRate, $"figure/reference = {Units.Ratio(rate / liveRate)} (target >= {Target:F3})");
        }

        await ctx.StopServerAsync(server);
    }

    /// <summary>Polls Ps every 20 ms until the job is no longer running (bounded by the scenario's timeout, and by a day of polls).</summary>
    private static async Task<JobStatus> WaitEndedAsync(JobsClient client, string jobId, CancellationToken cancellationToken)
    {
        const int MaxPolls = 24 * 60 * 60 * 50;
        for (int poll = 0; poll < MaxPolls; poll++)
        {
            var status = (await client.PsAsync(new PsRequest { JobId = jobId }, cancellationToken: cancellationToken)).Status;
            if (status.State != JobState.Running)
            {
                return status;
            }

            await Task.Delay(20, cancellationToken);
        }

        throw new TimeoutException($"job {jobId} still running after {MaxPolls} polls");
    }
}
