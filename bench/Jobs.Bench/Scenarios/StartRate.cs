using System.Diagnostics;
using Grpc.Core;
using Jobs.Protos;

namespace Jobs.Bench.Scenarios;

/// <summary>8 concurrent callers start 2,000 /bin/true jobs (Run calls only), against Process.Start("/bin/true") at the same count and concurrency.</summary>
internal static class StartRate
{
    public const double Target = 0.7;
    private const int WarmUpCalls = 10;

    public static async Task RunAsync(ScenarioContext ctx)
    {
        int count = ctx.Options.Count ?? 2000;
        int callers = ctx.Options.Callers;
        ctx.Report.Line("parameters", $"count={count} /bin/true jobs{(ctx.Options.Isolate ? " with --isolate" : "")}, callers={callers} (a channel each), Run calls only, after {WarmUpCalls} untimed Runs per caller");

        Report.Progress($"baseline: {count} x Process.Start(\"/bin/true\") from {callers} workers");
        for (int i = 0; i < callers * WarmUpCalls; i++)
        {
            await Baselines.StartTrueAsync(ctx.Token);
        }

        var (baseWall, baseFailures) = await Baselines.ProcessStartAsync(count, callers, ctx.Token);
        double baseRate = count / baseWall.TotalSeconds;
        ctx.Report.Line("baseline", $"Process.Start(\"/bin/true\"), stdout redirected and read, exit awaited, {callers} workers: {count} in {Units.Seconds(baseWall)}, {baseRate:F1}/s");
        if (baseFailures > 0)
        {
            ctx.Report.Failure($"baseline: {baseFailures} of {count} /bin/true did not exit 0");
        }

        var server = await ctx.StartServerAsync();
        var clients = Enumerable.Range(0, callers).Select(_ => ctx.Clients.Create(server.Endpoint)).ToList();
        await ctx.WarmUpAsync(clients[0]);
        var trueJob = ctx.Job("/bin/true");
        trueJob.Isolate = ctx.Options.Isolate;
        // The Run path warmed too (not counted): WarmUpCalls per caller, concurrently, then a pause for the JIT.
        await Task.WhenAll(clients.Select(client => Task.Run(async () =>
        {
            for (int i = 0; i < WarmUpCalls; i++)
            {
                await client.RunAsync(trueJob, cancellationToken: ctx.Token);
            }
        }, ctx.Token)));
        await Task.Delay(TimeSpan.FromSeconds(1), ctx.Token);

        Report.Progress($"{count} Run calls from {callers} callers");
        int issued = 0;
        int failures = 0;
        string? firstError = null;
        var latencies = new TimeSpan[count];
        var clock = Stopwatch.StartNew();
        ctx.WhileRunning("Run calls", () => $"{Math.Min(Volatile.Read(ref issued), count)} issued, {Volatile.Read(ref failures)} failed at {Units.Seconds(clock.Elapsed)}");
        await Task.WhenAll(clients.Select(client => Task.Run(async () =>
        {
            int index;
            while ((index = Interlocked.Increment(ref issued) - 1) < count)
            {
                var started = clock.Elapsed;
                try
                {
                    await client.RunAsync(trueJob, cancellationToken: ctx.Token);
                }
                catch (RpcException e) when (!ctx.Token.IsCancellationRequested)
                {
                    Interlocked.Increment(ref failures);
                    Interlocked.CompareExchange(ref firstError, $"{e.StatusCode} {e.Status.Detail}", null);
                }

                latencies[index] = clock.Elapsed - started;
            }
        }, ctx.Token)));
        var wall = clock.Elapsed;

        int completed = count - failures;
        double rate = completed / wall.TotalSeconds;
        Array.Sort(latencies);
        ctx.Report.Line("figure", $"{completed} Run completions in {Units.Seconds(wall)}: {rate:F1}/s (Run latency p50 {Units.Percentile(latencies, 0.5)}, p99 {Units.Percentile(latencies, 0.99)}, max {Units.Millis(latencies[^1])})");
        if (failures > 0)
        {
            ctx.Report.Failure($"{failures} of {count} Run calls failed, first: {firstError}");
        }

        ctx.Report.Line("target", $">= {Target:F1} x baseline = {Target * baseRate:F1}/s");
        ctx.Report.Verdict("", rate >= Target * baseRate, $"figure/baseline = {Units.Ratio(rate / baseRate)} (target >= {Target:F3})");
        await ctx.StopServerAsync(server);
    }
}
