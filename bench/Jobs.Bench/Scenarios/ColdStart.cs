using System.Diagnostics;
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
        string jobs = ctx.Paths.AotCli;
        if (!File.Exists(jobs))
        {
            ctx.Report.Failure($"no Native AOT CLI at {jobs}: run 'dotnet publish Client -c Release -r linux-x64' first");
            return;
        }

        ctx.Report.Line("parameters", $"{count} runs of each command after {WarmUp} untimed ones, one at a time; {jobs} ({new FileInfo(jobs).Length / Units.MiB} MiB)");

        var baseline = await TimeAsync("/bin/true", [], count, ctx.Token);
        ctx.Report.Line("baseline", $"/bin/true as a process: p50 {Units.Percentile(baseline, 0.5)}, p90 {Units.Percentile(baseline, 0.9)}");

        var version = await TimeAsync(jobs, ["--version"], count, ctx.Token);
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
        var ps = await TimeAsync(jobs, [.. connection, "ps", id], count, ctx.Token);
        ctx.Report.Line("figure (ps)", $"jobs ps ID against the local server: p50 {Units.Percentile(ps, 0.5)}, p90 {Units.Percentile(ps, 0.9)}, max {Units.Millis(ps[^1])}");
        await ctx.StopServerAsync(server);

        ctx.Report.Line("target", $"--version p50 <= {Units.Millis(VersionTarget)}; ps p50 <= {Units.Millis(PsTarget)}");
        ctx.Report.Verdict("--version", Units.PercentileValue(version, 0.5) <= VersionTarget, $"p50/target = {Units.Ratio(Units.PercentileValue(version, 0.5) / VersionTarget)}");
        ctx.Report.Verdict("ps", Units.PercentileValue(ps, 0.5) <= PsTarget, $"p50/target = {Units.Ratio(Units.PercentileValue(ps, 0.5) / PsTarget)}");
    }

    // Each run: start, wait for exit (output read and discarded); sorted wall times. A failing run fails the scenario.
    private static async Task<List<TimeSpan>> TimeAsync(string program, string[] args, int count, CancellationToken cancellationToken)
    {
        var times = new List<TimeSpan>();
        for (int i = 0; i < WarmUp + count; i++)
        {
            var start = new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            var clock = Stopwatch.StartNew();
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var error = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            clock.Stop();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {process.ExitCode}: {await error}{await output}");
            }

            if (i >= WarmUp)
            {
                times.Add(clock.Elapsed);
            }
        }

        times.Sort();
        return times;
    }
}
