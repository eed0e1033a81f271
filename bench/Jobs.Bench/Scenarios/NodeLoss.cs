using System.Diagnostics;
using Grpc.Core;
using Jobs.Protos;

namespace Jobs.Bench.Scenarios;

/// <summary>
/// A node dies: its Silo process gets SIGKILL while it runs long jobs, each with a follower (sleeps, and one job that
/// wrote a line first, so one follower has read output). Per job, the time from the kill until Ps answers LOST and
/// until its follower's stream ends with a LOST status; its process gone (/proc); the other node's job still running
/// and its follower still open.
/// </summary>
internal static class NodeLoss
{
    /// <summary>The product's promise: a job whose node left the cluster is LOST within 30 s.</summary>
    public static readonly TimeSpan Target = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan AttachTimeout = TimeSpan.FromSeconds(30);
    // A follower of a job without output gets nothing that shows it is attached: time to attach.
    private static readonly TimeSpan AttachPause = TimeSpan.FromSeconds(2);
    // Far enough past the target to tell late from never.
    private static readonly TimeSpan GiveUp = TimeSpan.FromSeconds(90);
    private static readonly string[] Sleep = ["/bin/sleep", "600"];
    // A line, then asleep as long: its follower has read output (a position past 0) when the node dies.
    private static readonly string[] Talker = [BenchPaths.TestChild, "drip", "1", "600"];

    public static async Task RunAsync(ScenarioContext ctx)
    {
        int count = ctx.Options.Count ?? 4;
        string victim = ctx.Options.JobNode;
        string survivor = BenchOptions.ClusterNodes.Single(node => node != victim);
        ctx.Report.Line("parameters", $"count={count} '{string.Join(' ', Sleep)}' jobs on {victim}, plus 1 writing a line first (TestChild drip 1 600), 1 '{string.Join(' ', Sleep)}' on {survivor}; "
            + $"a follower (Logs) of each, {AttachPause.TotalSeconds:F0} s to attach; SIGKILL of {victim}'s Jobs.Silo alone; Ps on each of its jobs every {PollInterval.TotalMilliseconds:F0} ms "
            + $"(deadline {CallDeadline.TotalSeconds:F0} s a call) until LOST, for up to {GiveUp.TotalSeconds:F0} s");

        var server = await ctx.StartServerAsync();
        var jobs = new List<WatchedJob>();
        try
        {
            await LoseNodeAsync(ctx, server, count, victim, survivor, jobs);
        }
        finally
        {
            await ctx.StopServerAsync(server);
            // Whatever outlived its node or the server's stop: ours, by pid, checked to still be one of our jobs.
            foreach (var job in jobs.Where(job => job.Pid > 0 && Processes.IsAliveRunning(job.Pid, job.Argv)))
            {
                Report.Progress($"killing job process {job.Pid} ({job.Node}), left after the server stopped");
                try
                {
                    using var process = Process.GetProcessById(job.Pid);
                    process.Kill();
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                {
                    // gone meanwhile
                }
            }
        }
    }

    private static async Task LoseNodeAsync(ScenarioContext ctx, Deployment server, int count, string victim, string survivor, List<WatchedJob> jobs)
    {
        var client = ctx.Clients.Create(server.Endpoint);
        var followClient = ctx.Clients.Create(server.Endpoint);
        var clock = Stopwatch.StartNew();

        Report.Progress($"starting {count + 1} long jobs on {victim} and 1 on {survivor}, a follower of each");
        var planned = Enumerable.Repeat((victim, Sleep), count).Append((victim, Talker)).Append((survivor, Sleep));
        foreach (var (node, argv) in planned)
        {
            var request = ctx.Job(argv[0], argv[1..]);
            request.Node = node;
            var run = await client.RunAsync(request, cancellationToken: ctx.Token);
            var job = new WatchedJob(run.JobId, node, argv, new EndFollower($"follower of {run.JobId} ({node}{(ReferenceEquals(argv, Talker) ? ", after output" : "")})"));
            job.Following = Task.Run(() => job.Follower.FollowAsync(followClient, job.Id, clock, ctx.Token), ctx.Token);
            jobs.Add(job);
        }

        var talker = jobs.Single(job => job.WritesFirst);
        try
        {
            await talker.Follower.Attached.WaitAsync(AttachTimeout, ctx.Token);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            ctx.Report.Failure($"the follower of the job writing a line did not get it: {e.Message}");
            return;
        }

        await Task.Delay(AttachPause, ctx.Token);
        if (jobs.FirstOrDefault(job => job.Following!.IsCompleted) is { } early)
        {
            ctx.Report.Failure($"{early.Follower.Name} ended before the kill: {early.Follower.Error ?? StatusText.Of(early.Follower.End)}");
            return;
        }

        foreach (var job in jobs)
        {
            var status = (await client.PsAsync(new PsRequest { JobId = job.Id }, cancellationToken: ctx.Token)).Status;
            job.Pid = status.Pid;
            if (status.State != JobState.Running || status.Node != job.Node || !Processes.IsAliveRunning(status.Pid, job.Argv))
            {
                ctx.Report.Failure($"before the kill, job {job.Id} was {StatusText.Of(status)} on '{status.Node}' (process alive: {Processes.IsAliveRunning(status.Pid, job.Argv)}); expected RUNNING on {job.Node}");
                return;
            }
        }

        var lost = jobs.Where(job => job.Node == victim).ToList();
        var kept = jobs.Single(job => job.Node == survivor);
        ctx.Report.Line("before the kill", $"{lost.Count} jobs RUNNING on {victim} (pids {string.Join(", ", lost.Select(j => j.Pid))}), 1 on {survivor} (pid {kept.Pid}); every follower open, the one after output has its line");

        var silo = server.SiloOf(victim);
        // Jobs and the server's own helpers: what is left of them afterwards tells why a job outlived its node.
        var children = Processes.ChildrenOf(silo.Pid);
        Report.Progress($"SIGKILL to {silo.Name} pid {silo.Pid}");
        var killedAt = clock.Elapsed;
        await silo.KillHardAsync();
        var giveUpAt = killedAt + GiveUp;

        var nodeDead = WaitNodeDeadAsync(client, victim, clock, giveUpAt, ctx.Token);
        await Task.WhenAll(lost.Select(job => Task.WhenAll(
            WaitLostAsync(client, job, clock, giveUpAt, ctx.Token),
            WaitGoneAsync(job, clock, giveUpAt, ctx.Token),
            job.Following!.WaitAsync(GiveUp, ctx.Token).ContinueWith(_ => { }, TaskScheduler.Default))));
        var deadAt = await nodeDead;

        // The survivor, once its peer has been dead for as long as the others took to notice.
        var keptStatus = (await client.PsAsync(new PsRequest { JobId = kept.Id }, cancellationToken: ctx.Token)).Status;
        bool keptAlive = Processes.IsAliveRunning(kept.Pid, kept.Argv);
        bool keptFollowed = !kept.Following!.IsCompleted;

        ReportFigures(ctx, lost, killedAt, deadAt, victim);
        if (lost.Any(job => job.GoneAt is null))
        {
            ctx.Report.Line("silo's children", string.Join("\n", children.Select(child => $"before: pid {child.Pid} {child.CommandLine}; now: {Processes.Explain(child.Pid)}")));
        }

        if (lost.Any(job => job.Follower.Error is not null))
        {
            // The client sees only "internal server error": the cause is in the gateway's log, which ends with the server.
            Report.Progress($"a follower's call failed; the gateway's last log lines:\n{server.Gateway.LogTail}");
        }

        ctx.Report.Line("survivor", $"the job on {survivor}: {StatusText.Of(keptStatus)} on {keptStatus.Node}, process {(keptAlive ? "alive" : "GONE")} (/proc); "
            + $"its follower {(keptFollowed ? "still open" : $"ENDED: {kept.Follower.Error ?? StatusText.Of(kept.Follower.End)}")}; the gateway {(server.Gateway.HasExited ? "EXITED" : "runs")}");
        if (keptStatus.State != JobState.Running || keptStatus.Node != survivor || !keptAlive || !keptFollowed || server.Gateway.HasExited)
        {
            ctx.Report.Failure($"the node that was not killed lost its job, its follower or the gateway");
        }

        await CheckSurvivorEndsAsync(ctx, client, kept);
    }

    private static void ReportFigures(ScenarioContext ctx, List<WatchedJob> lost, TimeSpan killedAt, TimeSpan? deadAt, string victim)
    {
        var psTimes = lost.Where(j => j.LostAt is not null).Select(j => j.LostAt!.Value - killedAt).Order().ToList();
        var silent = lost.Where(j => !j.WritesFirst).ToList();
        var ended = silent.Where(j => j.Follower.End?.State == JobState.Lost).Select(j => j.Follower.Ended!.Value - killedAt).Order().ToList();
        var talker = lost.Single(j => j.WritesFirst).Follower;
        bool talkerLost = talker.End?.State == JobState.Lost;
        var gone = lost.Where(j => j.GoneAt is not null).Select(j => j.GoneAt!.Value - killedAt).Order().ToList();
        int failedPolls = lost.Sum(j => j.FailedPolls);

        ctx.Report.Line("figure (Ps)", $"{psTimes.Count} of {lost.Count} jobs answered LOST: {Spread(psTimes)} after the kill; "
            + $"{lost.Sum(j => j.Polls)} Ps calls, {failedPolls} failed{(failedPolls == 0 ? "" : $" (first: {lost.Select(j => j.FirstPollError).First(e => e is not null)})")}");
        ctx.Report.Line("figure (followers)", $"{ended.Count} of {silent.Count} followers of the sleeps ended with a LOST status: {Spread(ended)} after the kill");
        ctx.Report.Line("follower after output", talker.Ended is not { } talkerEnded
            ? "still open"
            : $"{(talkerLost ? "ended with a LOST status" : talker.Error ?? $"ended {StatusText.Of(talker.End)}")} {Units.Seconds(talkerEnded - killedAt)} after the kill");
        ctx.Report.Line("job processes", $"{gone.Count} of {lost.Count} gone from /proc: {Spread(gone)} after the kill");
        ctx.Report.Line("node dead", deadAt is { } dead
            ? $"Nodes listed {victim} DEAD {Units.Seconds(dead - killedAt)} after the kill"
            : $"Nodes still listed {victim} alive {GiveUp.TotalSeconds:F0} s after the kill");

        foreach (var job in lost)
        {
            if (job.LostAt is null)
            {
                string last = job.Last is null ? "no answer" : $"{StatusText.Of(job.Last)} on '{job.Last.Node}'";
                if (job.Last is not null && job.Last.State is not (JobState.Running or JobState.Lost))
                {
                    ctx.Report.Failure($"job {job.Id}: Ps answered {last} after its node died, not LOST");
                }
                else
                {
                    ctx.Report.Line("not LOST", $"job {job.Id}: Ps answered {last} {GiveUp.TotalSeconds:F0} s after the kill");
                }
            }
            else if (job.Last!.Node != victim)
            {
                ctx.Report.Failure($"job {job.Id}: LOST, but Ps says it ran on '{job.Last.Node}', not {victim}");
            }

            if (job.Follower.Ended is null)
            {
                ctx.Report.Line("not ended", $"{job.Follower.Name}: still open {GiveUp.TotalSeconds:F0} s after the kill");
            }
            else if (job.Follower.Error is not null || job.Follower.End?.State != JobState.Lost)
            {
                ctx.Report.Failure($"{job.Follower.Name}: {job.Follower.Error ?? $"ended {StatusText.Of(job.Follower.End)}, not LOST"}, {Units.Seconds(job.Follower.Ended.Value - killedAt)} after the kill");
            }

            if (job.GoneAt is null)
            {
                ctx.Report.Failure($"job {job.Id}: its process {job.Pid} still runs {GiveUp.TotalSeconds:F0} s after its node's silo was killed (see 'tree tracking': a silo with process groups only has no watchdog)");
            }
        }

        var followerTimes = talkerLost ? ended.Append(talker.Ended!.Value - killedAt).ToList() : ended;
        bool all = psTimes.Count == lost.Count && followerTimes.Count == lost.Count;
        var worst = psTimes.Concat(followerTimes).DefaultIfEmpty(GiveUp).Max();
        ctx.Report.Line("target", $"LOST within {Target.TotalSeconds:F0} s of the kill (Ps and each follower's end status)");
        var missing = new List<string>();
        if (psTimes.Count < lost.Count)
        {
            missing.Add($"{lost.Count - psTimes.Count} of {lost.Count} jobs not LOST by Ps within {GiveUp.TotalSeconds:F0} s");
        }

        if (followerTimes.Count < lost.Count)
        {
            missing.Add($"{lost.Count - followerTimes.Count} of {lost.Count} followers did not end with a LOST status");
        }

        string ratio = $"max/target = {Units.Ratio(worst / Target)} (target <= 1.000)";
        ctx.Report.Verdict("", all && worst <= Target, all ? ratio : $"{string.Join("; ", missing)}; the others {ratio}");
    }

    // Killing the survivor's job ends its follower as any job's end does: it was open, and it still works.
    private static async Task CheckSurvivorEndsAsync(ScenarioContext ctx, JobsClient client, WatchedJob kept)
    {
        var killed = (await client.KillAsync(new KillRequest { JobId = kept.Id }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: ctx.Token)).Status;
        try
        {
            await kept.Following!.WaitAsync(TimeSpan.FromSeconds(10), ctx.Token);
        }
        catch (TimeoutException)
        {
            // reported below
        }

        string follower = kept.Follower.Ended is null ? "still open 10 s later" : kept.Follower.Error ?? $"ended {StatusText.Of(kept.Follower.End)}";
        ctx.Report.Line("survivor kill", $"Kill answered {StatusText.Of(killed)}; its follower {follower}");
        if (killed.State != JobState.Killed || kept.Follower.End?.State != JobState.Killed)
        {
            ctx.Report.Failure($"the survivor's job: Kill answered {StatusText.Of(killed)}, its follower {follower}; expected KILLED for both");
        }
    }

    /// <summary>Ps every 100 ms until the job is LOST or has any other end; failed calls (the dead node's grain unreachable) are counted and retried.</summary>
    private static async Task WaitLostAsync(JobsClient client, WatchedJob job, Stopwatch clock, TimeSpan giveUpAt, CancellationToken cancellationToken)
    {
        while (clock.Elapsed < giveUpAt)
        {
            job.Polls++;
            try
            {
                var status = (await client.PsAsync(new PsRequest { JobId = job.Id }, deadline: DateTime.UtcNow + CallDeadline, cancellationToken: cancellationToken)).Status;
                job.Last = status;
                if (status.State == JobState.Lost)
                {
                    job.LostAt = clock.Elapsed;
                    return;
                }

                if (status.State != JobState.Running)
                {
                    return;
                }
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                job.FailedPolls++;
                job.FirstPollError ??= $"{e.StatusCode} {e.Status.Detail}";
            }

            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    private static async Task WaitGoneAsync(WatchedJob job, Stopwatch clock, TimeSpan giveUpAt, CancellationToken cancellationToken)
    {
        while (clock.Elapsed < giveUpAt)
        {
            if (!Processes.IsAliveRunning(job.Pid, job.Argv))
            {
                job.GoneAt = clock.Elapsed;
                return;
            }

            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    /// <summary>When Nodes first listed the node DEAD (or no longer at all); null if it did not before the give-up time.</summary>
    private static async Task<TimeSpan?> WaitNodeDeadAsync(JobsClient client, string node, Stopwatch clock, TimeSpan giveUpAt, CancellationToken cancellationToken)
    {
        while (clock.Elapsed < giveUpAt)
        {
            try
            {
                var nodes = (await client.NodesAsync(new NodesRequest(), deadline: DateTime.UtcNow + CallDeadline, cancellationToken: cancellationToken)).Nodes;
                if (nodes.FirstOrDefault(n => n.Name == node) is not { } listed || listed.Status == NodeStatus.Dead)
                {
                    return clock.Elapsed;
                }
            }
            catch (RpcException) when (!cancellationToken.IsCancellationRequested)
            {
                // asked again below
            }

            await Task.Delay(PollInterval, cancellationToken);
        }

        return null;
    }

    private static string Spread(List<TimeSpan> sorted) => sorted.Count == 0
        ? "none"
        : $"median {Units.Seconds(Units.PercentileValue(sorted, 0.5))}, max {Units.Seconds(sorted[^1])} (min {Units.Seconds(sorted[0])})";

    /// <summary>A job the scenario started, its follower, and what was seen of it after the kill.</summary>
    private sealed class WatchedJob(string id, string node, string[] argv, EndFollower follower)
    {
        public string Id => id;

        public string Node => node;

        /// <summary>The job's command line, as /proc shows it while it runs.</summary>
        public string[] Argv => argv;

        /// <summary>The job that writes a line before it sleeps.</summary>
        public bool WritesFirst => ReferenceEquals(argv, Talker);

        public EndFollower Follower => follower;

        public Task? Following { get; set; }

        public int Pid { get; set; }

        public JobStatus? Last { get; set; }

        public TimeSpan? LostAt { get; set; }

        public TimeSpan? GoneAt { get; set; }

        public int Polls { get; set; }

        public int FailedPolls { get; set; }

        public string? FirstPollError { get; set; }
    }
}
