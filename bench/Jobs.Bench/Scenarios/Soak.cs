using Grpc.Core;
using Jobs.Bench.Floods;
using Jobs.Protos;

namespace Jobs.Bench.Scenarios;

/// <summary>
/// The floods of a bad day, all at once for --duration, against one server: followers of one job by the
/// hundred, jobs back to back, malformed messages on every RPC, streams never read, connections that never
/// finish the TLS handshake. A well-behaved client's Run+Ps latency is taken alone first, then during the
/// floods. Targets: no byte lost, no INTERNAL on a well-formed call, no UNKNOWN at all, server RSS growth
/// within 100 MB, the well-behaved client no more than 2 x slower, and no job process or cgroup left.
/// </summary>
internal static class Soak
{
    public const double SlowdownLimit = 2.0;
    public const double RssGrowthLimitMB = 100;
    private const int FollowerChannels = 8;
    private const int MalformedWorkers = 2;
    private const long StalledJobBytes = 64 * Units.MiB;
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(30);

    public static async Task RunAsync(ScenarioContext ctx)
    {
        var duration = ctx.Options.Duration;
        int followers = ctx.Options.Followers ?? 200;
        long bytes = ctx.Options.Bytes ?? 16 * Units.MiB;
        int callers = ctx.Options.CallersGiven ?? 4;
        var alone = TimeSpan.FromSeconds(Math.Clamp(duration.TotalSeconds / 4, 5, 20));
        ctx.Report.Line("parameters", $"duration={Units.Seconds(duration)} (--duration), well-behaved client alone for {Units.Seconds(alone)} first; floods: "
            + $"{followers} followers of a {Units.Size(bytes)} job per round on {FollowerChannels} channels; {callers} callers running /bin/true back to back (Run, Wait); "
            + $"malformed messages from {MalformedWorkers} workers; {ctx.Options.Streams} Logs streams never read (one channel, a {Units.Size(StalledJobBytes)} job); "
            + $"{ctx.Options.Sockets} connections that never finish the TLS handshake; check: {PatternChecker.Method}");

        var server = await ctx.StartServerAsync();
        // The server's own helpers (the cgroup watchdog) run below it from the start: they are not leftovers.
        var own = server.JobHosts.SelectMany(host => Processes.WithDescendants(host.Pid)).ToHashSet();
        ctx.Report.Line("server processes", string.Join("; ", own.Select(Processes.Explain)));
        var atStart = server.Rss();
        ctx.Report.Line("RSS at start", atStart.ToString());
        var probeClient = ctx.Clients.Create(server.Endpoint);
        await ctx.WarmUpAsync(probeClient);

        Report.Progress($"the well-behaved client alone for {Units.Seconds(alone)}");
        var probeAlone = new Probe(ctx, probeClient);
        IReadOnlyList<TimeSpan> latencyAlone;
        using (var until = new CancellationTokenSource(alone))
        {
            latencyAlone = await probeAlone.MeasureAsync(until.Token, ctx.Token);
        }

        var beforeFloods = server.Rss();
        ctx.Report.Line("RSS before floods", beforeFloods.ToString());

        var followerFlood = new FollowerFlood(ctx, [.. Enumerable.Range(0, FollowerChannels).Select(_ => ctx.Clients.Create(server.Endpoint))], followers, bytes);
        var backToBack = new BackToBack(ctx, [.. Enumerable.Range(0, callers).Select(_ => ctx.Clients.Create(server.Endpoint))]);
        using var http = new HttpClient(ctx.Clients.Handler()) { Timeout = Timeout.InfiniteTimeSpan };
        var malformed = new MalformedFlood(new RawGrpc(http, server.Endpoint), MalformedWorkers);
        var stalled = new StalledStreams(ctx, ctx.Clients.Create(server.Endpoint), ctx.Options.Streams, StalledJobBytes);
        var halfOpen = new HalfOpenTls(new Uri(server.Endpoint).Port, ctx.Options.Sockets);
        var probeDuring = new Probe(ctx, probeClient);
        ctx.WhileRunning("followers", () => $"{followerFlood.Rounds} rounds, {followerFlood.BytesChecked} bytes checked, {followerFlood.BytesLost} lost; {followerFlood.Calls}");
        ctx.WhileRunning("back to back", () => $"{backToBack.Finished} jobs finished; {backToBack.Calls}");
        ctx.WhileRunning("malformed", () => malformed.ByKind.ToString());

        Report.Progress($"floods for {Units.Seconds(duration)}");
        var sampler = RssSampler.Start(server, TimeSpan.FromMilliseconds(250), ctx.Token);
        IReadOnlyList<TimeSpan> latencyDuring = [];
        using (var until = new CancellationTokenSource(duration))
        {
            await Task.WhenAll(
                GuardAsync(ctx, "followers", followerFlood.RunAsync(until.Token, ctx.Token)),
                GuardAsync(ctx, "back to back", backToBack.RunAsync(until.Token, ctx.Token)),
                GuardAsync(ctx, "malformed", malformed.RunAsync(until.Token, ctx.Token)),
                GuardAsync(ctx, "unread streams", stalled.RunAsync(until.Token, ctx.Token)),
                GuardAsync(ctx, "TLS never finished", halfOpen.RunAsync(until.Token, ctx.Token)),
                GuardAsync(ctx, "well-behaved client", Task.Run(async () => latencyDuring = await probeDuring.MeasureAsync(until.Token, ctx.Token), ctx.Token)));
        }

        await sampler.StopAsync();
        var afterFloods = server.Rss();

        ctx.Report.Line("followers", $"{followerFlood.Rounds} rounds; {followerFlood.Calls}; {followerFlood.BytesChecked} bytes checked against the pattern, "
            + $"{followerFlood.BytesLost} not delivered ({followerFlood.BytesOfFailedCalls} of them to followers whose call failed)");
        foreach (string error in followerFlood.Errors)
        {
            ctx.Report.Line("follower error", error);
        }

        ctx.Report.Line("back to back", $"{backToBack.Finished} jobs ran to EXITED 0; {backToBack.Calls}");
        ctx.Report.Line("malformed", $"{malformed.ByMethod}");
        ctx.Report.Line("malformed answers", malformed.ByKind.ToString());
        ctx.Report.Line("unread streams", $"{stalled.Calls}");
        string closes = halfOpen.ClosedAfter is { Count: > 0 } closed
            ? $"; the server closed them after {Units.Seconds(closed[0])} to {Units.Seconds(closed[^1])} (median {Units.Seconds(closed[closed.Count / 2])})"
            : "; the server closed none";
        ctx.Report.Line("TLS never finished", $"{halfOpen.Calls}{closes}");
        ctx.Report.Line("client alone", Latency(latencyAlone, probeAlone.Calls));
        ctx.Report.Line("client in floods", Latency(latencyDuring, probeDuring.Calls));
        ctx.Report.Line("RSS peak", $"{sampler} ({Units.MB((sampler.MaxKiB - beforeFloods.TotalRssKiB) * 1024.0)} over before the floods); after: {afterFloods}");

        var leftovers = await LeftoversWhileRunningAsync(ctx, server, own, stalled.JobId, probeClient);
        var hosts = server.JobHosts.ToList();
        await ctx.StopServerAsync(server);
        leftovers.AddRange(LeftoversAfterStop(hosts, leftovers));

        Tally[] wellFormed = [followerFlood.Calls, backToBack.Calls, stalled.Calls, probeAlone.Calls, probeDuring.Calls];
        long calls = wellFormed.Sum(t => t.Calls) + malformed.ByMethod.Calls + halfOpen.Calls.Calls;
        ctx.Report.Line("calls made", $"{calls} (well-formed {wellFormed.Sum(t => t.Calls)}, malformed {malformed.ByMethod.Calls}, TLS connections {halfOpen.Calls.Calls})");
        ctx.Report.Line("bytes checked", $"{followerFlood.BytesChecked} ({Units.Size(followerFlood.BytesChecked)}) by {followerFlood.Rounds * followers} followers");

        ctx.Report.Line("target", $"0 bytes lost; 0 INTERNAL on well-formed calls; 0 UNKNOWN; RSS growth <= {RssGrowthLimitMB:F0} MB; Run+Ps p50 <= {SlowdownLimit:F1} x alone; no job process or cgroup left");
        ctx.Report.Verdict("lost bytes", followerFlood.BytesLost == 0 && followerFlood.Rounds > 0,
            followerFlood.Rounds == 0 ? "no round of followers ran"
                : $"{followerFlood.BytesLost} of {(long)followerFlood.Rounds * followers * bytes} bytes not delivered: {followerFlood.BytesOfFailedCalls} to followers whose call failed, "
                + $"{followerFlood.BytesLost - followerFlood.BytesOfFailedCalls} dropped or missing in follows that ended");
        long internalWellFormed = wellFormed.Sum(t => t.CountEndingWith(nameof(StatusCode.Internal)));
        long internalMalformed = malformed.ByKind.CountEndingWith(nameof(StatusCode.Internal));
        ctx.Report.Verdict("INTERNAL", internalWellFormed == 0,
            $"{internalWellFormed} on well-formed calls ({internalMalformed} more on malformed messages, which gRPC documents INTERNAL for when a message does not parse)");
        long unknown = wellFormed.Append(malformed.ByKind).Sum(t => t.CountEndingWith(nameof(StatusCode.Unknown)));
        ctx.Report.Verdict("UNKNOWN", unknown == 0, $"{unknown} UNKNOWN answers");
        long failed = wellFormed.Sum(t => t.Calls) - wellFormed.Sum(t => t.CountEndingWith("OK") + t.CountEndingWith("byte-exact") + t.CountEndingWith("open, unread"));
        ctx.Report.Verdict("well-formed calls", failed == 0, $"{failed} of {wellFormed.Sum(t => t.Calls)} did not succeed (counts by status above)");
        double growthMB = (sampler.MaxKiB - beforeFloods.TotalRssKiB) * 1024.0 / 1e6;
        ctx.Report.Verdict("RSS", growthMB <= RssGrowthLimitMB, $"peak {Units.MB(sampler.MaxKiB * 1024.0)} - before floods {Units.MB(beforeFloods.TotalRssKiB * 1024.0)} = {growthMB:F1} MB (limit {RssGrowthLimitMB:F0} MB)");
        double slowdown = latencyAlone.Count > 0 && latencyDuring.Count > 0 ? Median(latencyDuring) / Median(latencyAlone) : double.NaN;
        ctx.Report.Verdict("slowdown", slowdown <= SlowdownLimit, $"Run+Ps p50 in floods / alone = {Units.Ratio(slowdown)} (limit {SlowdownLimit:F3})");
        ctx.Report.Verdict("leftovers", leftovers.Count == 0, leftovers.Count == 0 ? "no job process or cgroup left" : string.Join("\n", leftovers));
    }

    // A flood that throws (a bench bug, or an error it does not expect) is reported; the others go on.
    private static async Task GuardAsync(ScenarioContext ctx, string flood, Task task)
    {
        try
        {
            await task;
        }
        catch (Exception e) when (e is not OperationCanceledException || !ctx.Token.IsCancellationRequested)
        {
            ctx.Report.Failure($"{flood}: {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>
    /// Once every job the floods started should have ended: processes still below the server, and job cgroups
    /// still in its folders, after up to 30 s for them to go.
    /// </summary>
    private static async Task<List<string>> LeftoversWhileRunningAsync(ScenarioContext ctx, Deployment server, IReadOnlySet<int> own, string? stalledJob, JobsClient client)
    {
        if (stalledJob is not null)
        {
            try
            {
                await client.WaitAsync(new WaitRequest { JobId = stalledJob }, deadline: DateTime.UtcNow.Add(SettleTimeout), cancellationToken: ctx.Token);
            }
            catch (RpcException e) when (!ctx.Token.IsCancellationRequested)
            {
                ctx.Report.Line("unread streams", $"Wait of their job: {e.StatusCode} {e.Status.Detail}");
            }
        }

        var deadline = DateTime.UtcNow + SettleTimeout;
        while (true)
        {
            var left = new List<string>();
            foreach (var host in server.JobHosts)
            {
                left.AddRange(Processes.WithDescendants(host.Pid).Where(pid => !own.Contains(pid)).Select(pid => $"process below {host.Name}: {Processes.Explain(pid)}"));
                left.AddRange(ServerCgroups.JobFoldersOf(host.Pid)
                    .Select(folder => (Folder: folder, Members: ServerCgroups.Members(folder)))
                    .Where(job => job.Members.Count > 0)
                    .Select(job => $"job cgroup of {host.Name} with processes in it: {job.Folder}: {string.Join("; ", job.Members.Select(Processes.Explain))}"));
            }

            if (left.Count == 0 || DateTime.UtcNow > deadline)
            {
                // Empty job cgroups the server keeps to reuse are no leftover; they go with its folder at the stop.
                int kept = server.JobHosts.Sum(host => ServerCgroups.JobFoldersOf(host.Pid).Count(folder => ServerCgroups.Members(folder).Count == 0));
                ctx.Report.Line("job cgroups", $"{kept} empty ones kept for reuse once the floods' jobs ended");
                return left;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), ctx.Token);
        }
    }

    // Once the server has stopped: its cgroup folders must be gone; so must the processes found left before.
    private static IEnumerable<string> LeftoversAfterStop(IReadOnlyList<ServerProcess> hosts, IReadOnlyList<string> before)
    {
        foreach (var host in hosts)
        {
            foreach (string folder in ServerCgroups.FoldersOf(host.Pid))
            {
                yield return $"after the stop, cgroup folder of {host.Name}: {folder}";
            }
        }

        if (before.Count > 0)
        {
            yield return $"(the {before.Count} found before the stop are listed above; the server's stop may have ended them)";
        }
    }

    private static string Latency(IReadOnlyList<TimeSpan> sorted, Tally calls) => sorted.Count == 0
        ? $"no Run+Ps pair succeeded; {calls}"
        : $"Run+Ps p50 {Units.Percentile(sorted, 0.5)}, p99 {Units.Percentile(sorted, 0.99)}, max {Units.Millis(sorted[^1])}; {calls}";

    private static double Median(IReadOnlyList<TimeSpan> sorted) => sorted[sorted.Count / 2].TotalMilliseconds;
}
