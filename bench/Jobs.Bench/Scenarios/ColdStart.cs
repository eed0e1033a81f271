using Jobs.Protos;

namespace Jobs.Bench.Scenarios;

/// <summary>
/// Wall time of whole CLI processes, Native AOT build: <c>jobs --version</c>, and <c>jobs ps ID</c>
/// against a running local server (process start, TLS handshake, one call, exit).
/// </summary>
internal static class ColdStart
{
    public static readonly TimeSpan VersionTarget = TimeSpan.FromMilliseconds(30);
    public static readonly TimeSpan PsTarget = TimeSpan.FromMilliseconds(60);
    private const int WarmUp = 3;

    public static async Task RunAsync(ScenarioContext ctx)
    {
        int count = ctx.Options.Count ?? 50;
        if (ctx.AotCliOrFail() is not { } jobs)
        {
            return;
        }

        ctx.Report.Line("parameters", $"{count} runs of each command after {WarmUp} untimed ones, one at a time; {jobs} ({new FileInfo(jobs).Length / Units.MiB} MiB)");

        var baseline = await ProcessTimer.TimeAsync("/bin/true", [], WarmUp, count, ctx.Token);
        ctx.Report.Line("baseline", $"/bin/true as a process: p50 {Units.Percentile(baseline, 0.5)}, p90 {Units.Percentile(baseline, 0.9)}");

        var version = await ProcessTimer.TimeAsync(jobs, ["--version"], WarmUp, count, ctx.Token);
        ctx.Report.Line("figure (--version)", $"jobs --version: p50 {Units.Percentile(version, 0.5)}, p90 {Units.Percentile(version, 0.9)}, max {Units.Millis(version[^1])}");

        var server = await ctx.StartServerAsync();
        var client = ctx.Clients.Create(server.Endpoint);
        string id = (await client.RunAsync(ctx.Job("/bin/true"), cancellationToken: ctx.Token)).JobId;
        string[] connection =
        [
            "--endpoint", server.Endpoint, "--domain", "localhost",
            "--cert", Path.Combine(ctx.Paths.Certs, "client1.pem"), "--key", Path.Combine(ctx.Paths.Certs, "client1.key"),
            "--server-ca", Path.Combine(ctx.Paths.Certs, "server_ca.pem"),
        ];
        var ps = await ProcessTimer.TimeAsync(jobs, [.. connection, "ps", id], WarmUp, count, ctx.Token);
        ctx.Report.Line("figure (ps)", $"jobs ps ID against the local server: p50 {Units.Percentile(ps, 0.5)}, p90 {Units.Percentile(ps, 0.9)}, max {Units.Millis(ps[^1])}");
        await ctx.StopServerAsync(server);

        ctx.Report.Line("target", $"--version p50 <= {Units.Millis(VersionTarget)}; ps p50 <= {Units.Millis(PsTarget)}");
        ctx.Report.Verdict("--version", Units.PercentileValue(version, 0.5) <= VersionTarget, $"p50/target = {Units.Ratio(Units.PercentileValue(version, 0.5) / VersionTarget)}");
        ctx.Report.Verdict("ps", Units.PercentileValue(ps, 0.5) <= PsTarget, $"p50/target = {Units.Ratio(Units.PercentileValue(ps, 0.5) / PsTarget)}");
    }
}
