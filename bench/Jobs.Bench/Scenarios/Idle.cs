using System.Diagnostics;
using Grpc.Core;
using Jobs.Protos;

namespace Jobs.Bench.Scenarios;

/// <summary>
/// 2,000 concurrent <c>/bin/sleep 600</c> jobs: what each costs the silo in RSS, Ps latency over random
/// ids, then every job killed with Kill and no sleep process left (checked in /proc by the pids Ps gave).
/// </summary>
internal static class Idle
{
    private const int ListCalls = 5;

    public const double RssPerJobLimitKiB = 64;
    public static readonly TimeSpan PsP99Limit = TimeSpan.FromMilliseconds(10);
    private static readonly string[] SleepArgv = ["/bin/sleep", "600"];
    private const int WarmUpJobs = 5;

    public static async Task RunAsync(ScenarioContext ctx)
    {
        int count = ctx.Options.Count ?? 2000;
        int callers = ctx.Options.Callers;
        int psCalls = ctx.Options.PsCalls;
        ctx.Report.Line("parameters", $"count={count} '/bin/sleep 600' jobs, callers={callers} (a channel each) for Run, Ps sweeps and Kill, {psCalls} timed Ps calls from one caller on random ids; warm-up: {WarmUpJobs} jobs per caller started, Ps'd 10 times and killed");
        if (!File.Exists(SleepArgv[0]))
        {
            ctx.Report.Failure($"{SleepArgv[0]} does not exist");
            return;
        }

        var pids = new int[count];
        var server = await ctx.StartServerAsync();
        try
        {
            await RunJobsAsync(ctx, server, count, callers, psCalls, pids);
        }
        finally
        {
            await ctx.StopServerAsync(server);
            // Whatever Kill (or the server's stop) missed: ours, by pid, checked to still be one of our sleeps.
            int leftovers = 0;
            foreach (int pid in pids.Where(pid => pid > 0 && Processes.IsAliveRunning(pid, SleepArgv)))
            {
                leftovers++;
                try
                {
                    using var process = Process.GetProcessById(pid);
                    process.Kill();
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                {
                    // gone meanwhile
                }
            }

            if (leftovers > 0)
            {
                Report.Progress($"killed {leftovers} sleep jobs left after the server stopped");
            }
        }
    }

    private static async Task RunJobsAsync(ScenarioContext ctx, Deployment server, int count, int callers, int psCalls, int[] pids)
    {
        var clients = Enumerable.Range(0, callers).Select(_ => ctx.Clients.Create(server.Endpoint)).ToList();
        await ctx.WarmUpAsync(clients[0]);
        var sleep = ctx.Job(SleepArgv[0], SleepArgv[1]);
        // Warms Run, Ps and Kill on every channel; these jobs are gone before the first RSS reading.
        await Task.WhenAll(clients.Select(client => Task.Run(async () =>
        {
            for (int i = 0; i < WarmUpJobs; i++)
            {
                var warm = await client.RunAsync(sleep, cancellationToken: ctx.Token);
                for (int j = 0; j < 10; j++)
                {
                    await client.PsAsync(new PsRequest { JobId = warm.JobId }, cancellationToken: ctx.Token);
                }

                await client.KillAsync(new KillRequest { JobId = warm.JobId }, cancellationToken: ctx.Token);
            }
        }, ctx.Token)));
        await Task.Delay(TimeSpan.FromSeconds(1), ctx.Token);
        var hosts = server.JobHosts;
        string siloLabel = server.Kind == DeploymentKind.Combined ? "Jobs.Gateway, hosting the silo" : string.Join(" + ", hosts.Select(h => h.Name));
        var before = server.Rss();

        Report.Progress($"starting {count} sleep jobs");
        var ids = new string[count];
        var clock = Stopwatch.StartNew();
        var (runFailures, runError) = await ForEachAsync(clients, count, async (client, i) =>
            ids[i] = (await client.RunAsync(sleep, cancellationToken: ctx.Token)).JobId, ctx.Token);
        var runWall = clock.Elapsed;
        ctx.Report.Line("jobs started", $"{count - runFailures} in {Units.Seconds(runWall)} ({(count - runFailures) / runWall.TotalSeconds:F1}/s)");
        if (runFailures > 0)
        {
            ctx.Report.Failure($"{runFailures} of {count} Run calls failed, first: {runError}");
            return;
        }

        await Task.Delay(TimeSpan.FromSeconds(2), ctx.Token);
        var after = server.Rss();
        long beforeKiB = before.RssKiBOf(hosts);
        long afterKiB = after.RssKiBOf(hosts);
        double perJobKiB = (afterKiB - beforeKiB) / (double)count;
        ctx.Report.Line("silo RSS", $"{siloLabel}: before {Units.MB(beforeKiB * 1024.0)}, after {count} jobs {Units.MB(afterKiB * 1024.0)} (VmRSS)");
        foreach (var other in server.Processes.Except(hosts))
        {
            string key = other == server.Gateway ? "gateway RSS" : $"{other.Name} RSS";
            ctx.Report.Line(key, $"before {Units.MB(before.RssKiBOf([other]) * 1024.0)}, after {Units.MB(after.RssKiBOf([other]) * 1024.0)} (VmRSS)");
        }

        Report.Progress($"Ps on every job to learn their pids");
        int running = 0;
        var nodes = new string[count];
        var (psFailures, psError) = await ForEachAsync(clients, count, async (client, i) =>
        {
            var status = (await client.PsAsync(new PsRequest { JobId = ids[i] }, cancellationToken: ctx.Token)).Status;
            pids[i] = status.Pid;
            nodes[i] = status.Node;
            if (status.State == JobState.Running && status.Pid > 0)
            {
                Interlocked.Increment(ref running);
            }
        }, ctx.Token);
        int alive = pids.Count(pid => pid > 0 && Processes.IsAliveRunning(pid, SleepArgv));
        string where = server.Kind == DeploymentKind.Cluster
            ? $" (on {string.Join(", ", nodes.Where(n => n is not null).GroupBy(n => n).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}"))})"
            : "";
        ctx.Report.Line("jobs running", $"{running} of {count} by Ps{where}, {alive} sleep processes alive by /proc");
        if (psFailures > 0 || running != count || alive != count)
        {
            ctx.Report.Failure($"expected {count} running jobs: Ps said {running} ({psFailures} calls failed{(psError is null ? "" : ", first: " + psError)}), /proc shows {alive}");
        }

        Report.Progress($"{psCalls} timed Ps calls");
        var random = new Random(20_000);
        var latencies = new TimeSpan[psCalls];
        var client0 = clients[0];
        for (int i = 0; i < psCalls; i++)
        {
            string id = ids[random.Next(count)];
            var started = Stopwatch.GetTimestamp();
            await client0.PsAsync(new PsRequest { JobId = id }, cancellationToken: ctx.Token);
            latencies[i] = Stopwatch.GetElapsedTime(started);
        }

        Array.Sort(latencies);
        var p99 = Units.PercentileValue(latencies, 0.99);
        double meanMs = latencies.Average(l => l.TotalMilliseconds);

        // The list (what 'jobs ps' prints) of every running job of the caller, as a person asks for it.
        Report.Progress($"{ListCalls} timed List calls");
        var lists = new TimeSpan[ListCalls];
        int listed = 0, withUsage = 0;
        for (int i = 0; i < ListCalls; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var list = await client0.ListAsync(new ListRequest(), cancellationToken: ctx.Token);
            lists[i] = Stopwatch.GetElapsedTime(started);
            listed = list.Jobs.Count;
            withUsage = list.Jobs.Count(j => j.Usage is not null);
        }

        Array.Sort(lists);

        Report.Progress($"killing {count} jobs");
        int killed = 0;
        clock.Restart();
        var (killFailures, killError) = await ForEachAsync(clients, count, async (client, i) =>
        {
            var status = (await client.KillAsync(new KillRequest { JobId = ids[i] }, cancellationToken: ctx.Token)).Status;
            if (status.State == JobState.Killed)
            {
                Interlocked.Increment(ref killed);
            }
        }, ctx.Token);
        var killWall = clock.Elapsed;
        int left = pids.Count(pid => pid > 0 && Processes.IsAliveRunning(pid, SleepArgv));
        var afterKill = server.Rss();

        ctx.Report.Line("figure (RSS)", $"({Units.MB(afterKiB * 1024.0)} - {Units.MB(beforeKiB * 1024.0)}) / {count} = {perJobKiB:F1} KiB per job");
        ctx.Report.Line("figure (Ps)", $"{psCalls} calls: p50 {Units.Percentile(latencies, 0.5)}, p99 {Units.Millis(p99)}, max {Units.Millis(latencies[^1])}, mean {meanMs:F2} ms");
        ctx.Report.Line("figure (List)", $"{ListCalls} List calls of the caller's {listed} jobs ({withUsage} with usage figures): p50 {Units.Percentile(lists, 0.5)}, max {Units.Millis(lists[^1])}");
        ctx.Report.Line("kill", $"{count} Kill calls in {Units.Seconds(killWall)}, {killed} answered KILLED; {left} sleep processes left (/proc scan of {pids.Count(p => p > 0)} pids); silo RSS then {Units.MB(afterKill.RssKiBOf(hosts) * 1024.0)}");
        if (killFailures > 0 || killed != count)
        {
            ctx.Report.Failure($"{killFailures} Kill calls failed{(killError is null ? "" : ", first: " + killError)}; {killed} of {count} answered KILLED");
        }

        if (left > 0)
        {
            ctx.Report.Failure($"{left} sleep processes still alive after every Kill answered");
        }

        ctx.Report.Line("target", $"silo RSS per job <= {RssPerJobLimitKiB:F0} KiB; Ps p99 <= {Units.Millis(PsP99Limit)}");
        ctx.Report.Verdict("RSS", perJobKiB <= RssPerJobLimitKiB, $"per job/limit = {Units.Ratio(perJobKiB / RssPerJobLimitKiB)} (target <= 1.000)");
        ctx.Report.Verdict("Ps", p99 <= PsP99Limit, $"p99/limit = {Units.Ratio(p99 / PsP99Limit)} (target <= 1.000)");
    }

    /// <summary>Calls <paramref name="call"/> for indexes 0..count-1 from one worker per client; failed calls are counted, not thrown.</summary>
    private static async Task<(int Failures, string? FirstError)> ForEachAsync(IReadOnlyList<JobsClient> clients, int count, Func<JobsClient, int, Task> call, CancellationToken cancellationToken)
    {
        int issued = 0;
        int failures = 0;
        string? firstError = null;
        await Task.WhenAll(clients.Select(client => Task.Run(async () =>
        {
            int index;
            while ((index = Interlocked.Increment(ref issued) - 1) < count)
            {
                try
                {
                    await call(client, index);
                }
                catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
                {
                    Interlocked.Increment(ref failures);
                    Interlocked.CompareExchange(ref firstError, $"{e.StatusCode} {e.Status.Detail}", null);
                }
            }
        }, cancellationToken)));
        return (failures, firstError);
    }
}
