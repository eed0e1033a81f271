using Jobs.Protos;

namespace Jobs.Bench.Scenarios;

/// <summary>
/// The server answering while jobs burn every core: the Native AOT CLI's <c>jobs ps ID</c>, whole
/// process, timed first on an idle server and then beside one CPU-burning job per core (no CPU
/// limit of their own: only the weight of all jobs together stands between them and the server).
/// </summary>
internal static class Busy
{
    private static readonly TimeSpan Target = TimeSpan.FromMilliseconds(100);
    private const int WarmUp = 5;

    public static async Task RunAsync(ScenarioContext ctx)
    {
        int count = ctx.Options.Count ?? 100;
        if (ctx.AotCliOrFail() is not { } jobs)
        {
            return;
        }

        ctx.Report.Line("parameters", $"{count} timed runs of {jobs} ps ID after {WarmUp} untimed ones, idle and then beside {Environment.ProcessorCount} jobs of 'while :; do :; done' (one per core)");
        var server = await ctx.StartServerAsync();
        var burners = new List<string>();
        try
        {
            var client = ctx.Clients.Create(server.Endpoint);
            await ctx.WarmUpAsync(client);
            string id = (await client.RunAsync(ctx.Job("/bin/sleep", "3600"), cancellationToken: ctx.Token)).JobId;
            string[] ps = [.. ctx.CliConnection(server.Endpoint), "ps", id];

            var idle = await TimeAsync(ctx, jobs, ps, count, "idle");
            burners = await StartBurnersAsync(ctx, client);
            var busy = await TimeAsync(ctx, jobs, ps, count, "beside the burners");
            var burned = (await client.PsAsync(new PsRequest { JobId = burners[0] }, cancellationToken: ctx.Token)).Status.Usage;

            ctx.Report.Line("baseline", $"jobs ps ID on an idle server: {Describe(idle)}");
            ctx.Report.Line("figure", $"jobs ps ID beside {burners.Count} burners: {Describe(busy)}; a burner's CPU time then {burned?.CpuTime?.ToTimeSpan().TotalSeconds:F1} s");
            ctx.Report.Line("target", $"p99 <= {Units.Millis(Target)}");
            var p99 = Units.PercentileValue(busy, 0.99);
            ctx.Report.Verdict("", p99 <= Target, $"p99/target = {Units.Ratio(p99 / Target)}");
            await client.KillAsync(new KillRequest { JobId = id }, cancellationToken: ctx.Token);
            await StopBurnersAsync(ctx, client, burners);
        }
        finally
        {
            await ctx.StopServerAsync(server);
        }
    }

    /// <summary>Starts one job per core that burns CPU until killed, and gives them a second to fill the cores.</summary>
    public static async Task<List<string>> StartBurnersAsync(ScenarioContext ctx, Protos.Jobs.JobsClient client)
    {
        var ids = new List<string>();
        for (int i = 0; i < Environment.ProcessorCount; i++)
        {
            ids.Add((await client.RunAsync(ctx.Job("/bin/sh", "-c", "while :; do :; done"), cancellationToken: ctx.Token)).JobId);
        }

        Report.Progress($"{ids.Count} burners running");
        await Task.Delay(TimeSpan.FromSeconds(1), ctx.Token);
        return ids;
    }

    public static async Task StopBurnersAsync(ScenarioContext ctx, Protos.Jobs.JobsClient client, List<string> ids)
    {
        foreach (string id in ids)
        {
            await client.KillAsync(new KillRequest { JobId = id, Grace = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.Zero) }, cancellationToken: ctx.Token);
        }
    }

    private static async Task<List<TimeSpan>> TimeAsync(ScenarioContext ctx, string jobs, string[] ps, int count, string what)
    {
        Report.Progress($"{count} x jobs ps ({what})");
        var times = new List<TimeSpan>();
        for (int i = 0; i < WarmUp + count; i++)
        {
            var run = await ProcessTimer.RunAsync(jobs, ps, ctx.Token);
            if (!run.Output.StartsWith("Running", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"jobs ps answered '{run.Output.Trim()}'");
            }

            if (i >= WarmUp)
            {
                times.Add(run.Elapsed);
            }
        }

        times.Sort();
        return times;
    }

    private static string Describe(List<TimeSpan> sorted) =>
        $"p50 {Units.Percentile(sorted, 0.5)}, p90 {Units.Percentile(sorted, 0.9)}, p99 {Units.Percentile(sorted, 0.99)}, max {Units.Millis(sorted[^1])}";
}
