using System.Diagnostics;
using Jobs.Protos;

namespace Jobs.Bench.Scenarios;

/// <summary>
/// A follower attaching after a 512 MiB job ended, against the gRPC ceiling of the same bytes; a
/// direct read of the job's spool files (one process, no TLS) and a live throughput run of the
/// same size are printed beside it.
/// </summary>
internal static class Late
{
    public const double Target = 0.9;
    private const int SpoolReadBuffer = 1024 * 1024;

    public static async Task RunAsync(ScenarioContext ctx)
    {
        long bytes = ctx.Options.Bytes ?? 512 * Units.MiB;
        ctx.Report.Line("parameters", $"bytes={Units.Size(bytes)} ({bytes} B), write-size={Units.Size(ctx.Options.WriteSize)}, check: {PatternChecker.Method}");

        var server = await ctx.StartServerAsync();
        var client = ctx.Clients.Create(server.Endpoint);
        await ctx.WarmUpAsync(client);

        Report.Progress($"reference: following a {Units.Size(bytes)} job live");
        if (await ctx.LiveRateAsync(client, server, bytes, "reference") is not (var liveRate, var liveTime))
        {
            return;
        }

        ctx.Report.Line("reference", $"throughput at the same size (Run call to last byte): {Units.Seconds(liveTime)}, {Units.MBps(liveRate)}");

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
        var spool = ReadSpool(run.JobId, server);
        if (spool is null)
        {
            ctx.Report.Failure($"no spool folder of job {run.JobId} under {Path.GetTempPath()}jobs-output-*/server-*/ (the bench reads the default data directory)");
        }
        else
        {
            ctx.Report.Line("spool read", $"the job's spool files read directly ({spool.Value.Files} files, {spool.Value.Bytes} B with frame headers, {Units.Size(SpoolReadBuffer)} reads): {Units.Seconds(spool.Value.Time)}, {Units.MBps(Units.Rate(spool.Value.Bytes, spool.Value.Time))}");
        }

        await ctx.StopServerAsync(server);
        if (ctx.Report.Checked(late) && await GrpcCeiling.MeasureAsync(ctx, bytes, late) is { } ceiling)
        {
            double rate = Units.Rate(late.Bytes, late.LastByteOrEnd);
            ctx.Report.Line("figure", $"Logs call to last byte: {Units.Seconds(late.LastByteOrEnd)}, {Units.MBps(rate)} ({Units.Ratio(rate / liveRate)} x the live reference)");
            ctx.Report.Line("target", $">= {Target:F1} x baseline = {Units.MBps(Target * ceiling.Rate)}");
            ctx.Report.Verdict("", rate >= Target * ceiling.Rate, $"figure/baseline = {Units.Ratio(rate / ceiling.Rate)} (target >= {Target:F3})");
        }
    }

    /// <summary>The job's spool segments (under the job host's server folder in the default data directory), read in order and timed; null when not found.</summary>
    private static (long Bytes, int Files, TimeSpan Time)? ReadSpool(string jobId, Deployment server)
    {
        var folders = Directory.GetDirectories(Path.GetTempPath(), "jobs-output-*")
            .SelectMany(d => server.JobHosts.SelectMany(h => Directory.GetDirectories(d, $"server-{h.Pid}-*")))
            .Select(d => Path.Combine(d, jobId))
            .Where(Directory.Exists)
            .ToList();
        if (folders.Count != 1)
        {
            return null;
        }

        var segments = Directory.GetFiles(folders[0], "*.seg").Order(StringComparer.Ordinal).ToList();
        var buffer = new byte[SpoolReadBuffer];
        long total = 0;
        var clock = Stopwatch.StartNew();
        foreach (string segment in segments)
        {
            using var file = new FileStream(segment, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
            int read;
            while ((read = file.Read(buffer)) > 0)
            {
                total += read;
            }
        }

        return (total, segments.Count, clock.Elapsed);
    }

    /// <summary>Polls Ps every 20 ms until the job is no longer running (bounded by the scenario's timeout, and by a day of polls).</summary>
    internal static async Task<JobStatus> WaitEndedAsync(JobsClient client, string jobId, CancellationToken cancellationToken)
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
