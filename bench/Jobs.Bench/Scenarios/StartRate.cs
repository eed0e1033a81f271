using System.Diagnostics;
using Grpc.Core;
using Jobs.Protos;

namespace Jobs.Bench.Scenarios;

/// <summary>8 concurrent callers start 2,000 /bin/true jobs (Run calls only), against Process.Start("/bin/true") at the same count and concurrency.</summary>
internal static class StartRate
{
    public const double Target = 0.7;

    // Server CPU per Run, the gateway and silo together (issue 25's target).
    private const double ServerMillisPerRun = 1.0;
    private const int WarmUpCalls = 10;

    // --accounts: rounds of each kind, and the most switching users may cost.
    private const int AccountRounds = 4;
    private const double AccountCost = 0.05;

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
        // --accounts: client2 is mapped to root (the server's own user, as before accounts), client1 runs as a uid of its own.
        var rootClients = ctx.Options.Accounts ? Enumerable.Range(0, callers).Select(_ => ctx.Clients.Create(server.Endpoint, "client2")).ToList() : [];
        await ctx.WarmUpAsync(clients[0]);
        var trueJob = ctx.Job("/bin/true");
        trueJob.Isolate = ctx.Options.Isolate;
        // The Run path warmed too (not counted): WarmUpCalls per caller, concurrently, then a pause for the JIT.
        await Task.WhenAll(clients.Concat(rootClients).Select(client => Task.Run(async () =>
        {
            for (int i = 0; i < WarmUpCalls; i++)
            {
                await client.RunAsync(trueJob, cancellationToken: ctx.Token);
            }
        }, ctx.Token)));
        await Task.Delay(TimeSpan.FromSeconds(1), ctx.Token);
        var burners = ctx.Options.Burners ? await Busy.StartBurnersAsync(ctx, clients[0]) : [];

        // Alternate rounds, so that the machine's drift falls on both alike.
        int rounds = ctx.Options.Accounts ? AccountRounds : 1;
        var own = new Timed();
        var root = new Timed();
        var cpu = CpuMeter.Start(server);
        for (int round = 0; round < rounds; round++)
        {
            int share = (count / rounds) + (round < count % rounds ? 1 : 0);
            if (ctx.Options.Accounts)
            {
                Report.Progress($"round {round + 1} of {rounds}: {share} Run calls as root (client2)");
                await root.RunAsync(ctx, rootClients, trueJob, share, "as root");
            }

            Report.Progress($"round {round + 1} of {rounds}: {share} Run calls from {callers} callers");
            await own.RunAsync(ctx, clients, trueJob, share, "Run calls");
        }

        double serverMillis = cpu.ServerMillisPer(ctx.Options.Accounts ? 2 * count : count);
        ctx.Report.Line("cpu", cpu.Read());
        double rate = own.Report(ctx, ctx.Options.Accounts ? "figure (own uid)" : "figure");
        if (ctx.Options.Accounts)
        {
            double rootRate = root.Report(ctx, "figure (as root)");
            double cost = 1 - (rate / rootRate);
            ctx.Report.Line("accounts", $"jobs as a uid of their own start at {Units.Ratio(rate / rootRate)} x the rate of jobs as root: switching users costs {cost * 100:F1} %");
            ctx.Report.Verdict("accounts", cost <= AccountCost, $"switching users costs {cost * 100:F1} % of the start rate (target <= {AccountCost * 100:F0} %)");
        }

        await Busy.StopBurnersAsync(ctx, clients[0], burners);
        ctx.Report.Line("target", $">= {Target:F1} x baseline = {Target * baseRate:F1}/s{(burners.Count > 0 ? $" (the baseline without burners; {burners.Count} jobs burned every core during the figure)" : "")}");
        ctx.Report.Verdict("", rate >= Target * baseRate, $"figure/baseline = {Units.Ratio(rate / baseRate)} (target >= {Target:F3})");
        ctx.Report.Verdict("server cpu", serverMillis <= ServerMillisPerRun, $"{serverMillis:F2} ms of server CPU per Run (target <= {ServerMillisPerRun:F1}; the jobs' own CPU not counted{(burners.Count > 0 ? ", the burners' calls counted" : "")})");
        await ctx.StopServerAsync(server);
    }

    // Run calls of one kind, over rounds: their count, wall time and latencies.
    private sealed class Timed
    {
        private readonly List<TimeSpan> _latencies = [];
        private TimeSpan _wall;
        private int _count;
        private int _failures;
        private string? _firstError;
        private int _issued;

        public async Task RunAsync(ScenarioContext ctx, List<Protos.Jobs.JobsClient> clients, RunRequest job, int count, string what)
        {
            var latencies = new TimeSpan[count];
            var clock = Stopwatch.StartNew();
            if (_count == 0)
            {
                ctx.WhileRunning(what, () => $"{_count + Math.Min(Volatile.Read(ref _issued), count)} issued, {Volatile.Read(ref _failures)} failed");
            }

            _issued = 0;
            await Task.WhenAll(clients.Select(client => Task.Run(async () =>
            {
                int index;
                while ((index = Interlocked.Increment(ref _issued) - 1) < count)
                {
                    var started = clock.Elapsed;
                    try
                    {
                        await client.RunAsync(job, cancellationToken: ctx.Token);
                    }
                    catch (RpcException e) when (!ctx.Token.IsCancellationRequested)
                    {
                        Interlocked.Increment(ref _failures);
                        Interlocked.CompareExchange(ref _firstError, $"{e.StatusCode} {e.Status.Detail}", null);
                    }

                    latencies[index] = clock.Elapsed - started;
                }
            }, ctx.Token)));
            _wall += clock.Elapsed;
            _count += count;
            _latencies.AddRange(latencies);
        }

        // Prints the figure line (and any failure); the rate of completed Runs.
        public double Report(ScenarioContext ctx, string key)
        {
            int completed = _count - _failures;
            double rate = completed / _wall.TotalSeconds;
            var latencies = _latencies.ToArray();
            Array.Sort(latencies);
            ctx.Report.Line(key, $"{completed} Run completions in {Units.Seconds(_wall)}: {rate:F1}/s (Run latency p50 {Units.Percentile(latencies, 0.5)}, p99 {Units.Percentile(latencies, 0.99)}, max {Units.Millis(latencies[^1])})");
            if (_failures > 0)
            {
                ctx.Report.Failure($"{key}: {_failures} of {_count} Run calls failed, first: {_firstError}");
            }

            return rate;
        }
    }
}
