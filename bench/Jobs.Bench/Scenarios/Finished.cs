using System.Diagnostics;

namespace Jobs.Bench.Scenarios;

/// <summary>
/// What a finished job keeps holding on the silo: --count (2,000) jobs of --bytes (300 KiB) output
/// each, run to their end and followed byte-exact and removed, then as many again kept; the silo's
/// RSS and open files after the kept ones against after the removed ones. Finished jobs stay listed and readable for their retention, so what they hold is held
/// for hours: it should be their status and the spool's index, not their output or a file each.
/// </summary>
internal static class Finished
{
    public const double RssPerJobLimitKiB = 8;
    private const int FileSlack = 16;
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(5);

    // Idle finished jobs (and their streams' pub-sub grains) leave memory after Jobs:FinishedIdle
    // (1 minute by default), checked every 30 s: readings after the jobs wait that long.
    private static readonly TimeSpan Collected = TimeSpan.FromSeconds(95);

    public static async Task RunAsync(ScenarioContext ctx)
    {
        int count = ctx.Options.Count ?? 2000;
        long bytes = ctx.Options.Bytes ?? 300 * 1024;
        int callers = ctx.Options.Callers;
        ctx.Report.Line("parameters", $"count={count} jobs of {Units.Size(bytes)} (TestChild flood, {Units.Size(ctx.Options.WriteSize)} writes), callers={callers}, each job followed to its end before the caller starts the next; readings {Units.Seconds(Collected)} after the last job of each phase (finished jobs leave memory after Jobs:FinishedIdle, 1 min)");

        var server = await ctx.StartServerAsync();
        var clients = Enumerable.Range(0, callers).Select(_ => ctx.Clients.Create(server.Endpoint)).ToList();
        await ctx.WarmUpAsync(clients[0]);
        var hosts = server.JobHosts;
        await Task.Delay(Settle, ctx.Token);
        long rssBefore = server.Rss().RssKiBOf(hosts);
        int filesBefore = hosts.Sum(h => Processes.OpenFiles(h.Pid));

        // The output that flows through costs the server heap that the runtime keeps committed for a
        // while whether or not jobs are held; what holding finished jobs costs is the difference
        // between the same traffic with each job removed at its end and with every job kept.
        var traffic = await RunJobsAsync(ctx, clients, count, bytes, remove: true, "removed at its end");
        Report.Progress($"waiting {Units.Seconds(Collected)} for idle activations to be collected");
        await Task.Delay(Collected, ctx.Token);
        long rssTraffic = server.Rss().RssKiBOf(hosts);
        int filesTraffic = hosts.Sum(h => Processes.OpenFiles(h.Pid));
        var kept = await RunJobsAsync(ctx, clients, count, bytes, remove: false, "kept");
        Report.Progress($"waiting {Units.Seconds(Collected)} for idle activations to be collected");
        await Task.Delay(Collected, ctx.Token);
        long rssAfter = server.Rss().RssKiBOf(hosts);
        int filesAfter = hosts.Sum(h => Processes.OpenFiles(h.Pid));
        if (!traffic || !kept)
        {
            return;
        }

        var listed = await clients[0].ListAsync(new Protos.ListRequest(), cancellationToken: ctx.Token);
        int ended = listed.Jobs.Count(j => j.State == Protos.JobState.Exited);
        double perJobKiB = (rssAfter - rssTraffic) / (double)count;
        int fileGrowth = filesAfter - filesTraffic;
        ctx.Report.Line("listed", $"{listed.Jobs.Count} jobs listed, {ended} of them EXITED (all {count} should be held for their retention)");
        if (ended < count)
        {
            ctx.Report.Failure($"only {ended} finished jobs are listed; {count} were expected");
        }

        ctx.Report.Line("silo RSS", $"VmRSS {Units.MB(rssBefore * 1024.0)} after the warm-up, {Units.MB(rssTraffic * 1024.0)} after {count} jobs removed at their end, {Units.MB(rssAfter * 1024.0)} after {count} more kept");
        ctx.Report.Line("figure (RSS)", $"({Units.MB(rssAfter * 1024.0)} - {Units.MB(rssTraffic * 1024.0)}) / {count} = {perJobKiB:F1} KiB per finished job (from the warm-up instead: {(rssAfter - rssBefore) / (double)count:F1} KiB, the traffic's heap included)");
        ctx.Report.Line("figure (files)", $"silo open files {filesBefore} after the warm-up, {filesTraffic} after the removed jobs, {filesAfter} after the kept ones: {fileGrowth} more for {count} finished jobs");
        ctx.Report.Line("target", $"<= {RssPerJobLimitKiB:F0} KiB of silo RSS per finished job; no open file per finished job");
        ctx.Report.Verdict("RSS", perJobKiB <= RssPerJobLimitKiB, $"per job/limit = {Units.Ratio(perJobKiB / RssPerJobLimitKiB)} (target <= 1.000)");
        ctx.Report.Verdict("files", fileGrowth <= FileSlack, $"{fileGrowth} files for {count} jobs (target: none per job; up to {FileSlack} for connections and logs that come and go)");
        await ctx.StopServerAsync(server);
    }

    // Each caller runs a job, follows it to its end (every byte checked) and, if asked, removes it; then the next.
    private static async Task<bool> RunJobsAsync(ScenarioContext ctx, List<JobsClient> clients, int count, long bytes, bool remove, string what)
    {
        Report.Progress($"running {count} jobs of {Units.Size(bytes)}, each {what}");
        int issued = 0;
        int incomplete = 0;
        string? firstError = null;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(clients.Select(client => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref issued) <= count)
            {
                var run = await client.RunAsync(ctx.Flood(bytes, ctx.Options.WriteSize), cancellationToken: ctx.Token);
                var follower = new Follower("job");
                await follower.FollowAsync(client, run.JobId, bytes, Stopwatch.StartNew(), 0, ctx.Token);
                if (!follower.Complete || follower.Bytes != bytes || follower.End?.State != Protos.JobState.Exited)
                {
                    Interlocked.Increment(ref incomplete);
                    Interlocked.CompareExchange(ref firstError, $"{run.JobId}: {follower.Error ?? $"{follower.Bytes} bytes, end {follower.End?.State}"}", null);
                }

                if (remove)
                {
                    await client.RemoveAsync(new Protos.RemoveRequest { JobId = run.JobId }, cancellationToken: ctx.Token);
                }
            }
        }, ctx.Token)));
        var wall = clock.Elapsed;
        ctx.Report.Line($"jobs ({what})", $"{count} run and followed in {Units.Seconds(wall)} ({count / wall.TotalSeconds:F1}/s)");
        if (incomplete > 0)
        {
            ctx.Report.Failure($"{incomplete} of {count} jobs did not deliver {bytes} bytes and EXITED, first: {firstError}");
            return false;
        }

        return true;
    }
}
