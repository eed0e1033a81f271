namespace Jobs.Bench.Scenarios;

/// <summary>
/// Whole-process wall time of the Native AOT CLI's everyday calls against a running local server,
/// beside Debian's curl making one gRPC call over the same mutual TLS: <c>jobs ps ID</c> and
/// <c>jobs run --wait -- true</c>, each against a multiple of curl's median.
/// </summary>
/// <remarks>
/// The three commands take turns, one run of each per round, so that the machine's load at any
/// moment weighs on all three alike; only the baseline of the same run counts.
/// </remarks>
internal static class Cli
{
    public const double PsFactor = 1.5;
    public const double RunWaitFactor = 2.5;
    private const string Curl = "/usr/bin/curl";
    private const int WarmUp = 3;

    // Calls on one open channel before any process is timed, so the server answers from
    // optimized (tier-1) code rather than from its first JIT tier.
    private const int ServerWarmUpCalls = 300;

    public static async Task RunAsync(ScenarioContext ctx)
    {
        int count = ctx.Options.Count ?? 50;
        if (ctx.AotCliOrFail() is not { } jobs)
        {
            return;
        }

        if (!File.Exists(Curl))
        {
            ctx.Report.Failure($"no {Curl} for the baseline (apt-get install curl)");
            return;
        }

        string? other = ctx.Options.OtherCli;
        if (other is not null && !File.Exists(other))
        {
            ctx.Report.Failure($"--other-cli: no file {other}");
            return;
        }

        ctx.Report.Line("parameters", $"{ServerWarmUpCalls} Ps calls in-process, then {count} rounds after {WarmUp} untimed ones, each round one run of curl, ps and run --wait in turn{(other is null ? "" : $", and ps and run --wait of {other}")}; {jobs} ({new FileInfo(jobs).Length / Units.MiB} MiB)");

        var server = await ctx.StartServerAsync();
        string body = Path.GetTempFileName();
        try
        {
            // A gRPC message frame: not compressed, length 0 (an empty HealthCheckRequest).
            await File.WriteAllBytesAsync(body, new byte[5], ctx.Token);
            var client = ctx.Clients.Create(server.Endpoint);
            string id = (await client.RunAsync(ctx.Job("/bin/true"), cancellationToken: ctx.Token)).JobId;
            Report.Progress($"warm-up: {ServerWarmUpCalls} Ps calls");
            for (int i = 0; i < ServerWarmUpCalls; i++)
            {
                await client.PsAsync(new Protos.PsRequest { JobId = id }, cancellationToken: ctx.Token);
            }

            int port = new Uri(server.Endpoint).Port;
            string cert = Path.Combine(ctx.Paths.Certs, "client1.pem");
            string key = Path.Combine(ctx.Paths.Certs, "client1.key");
            string serverCa = Path.Combine(ctx.Paths.Certs, "server_ca.pem");
            string[] curl =
            [
                "--silent", "--show-error", "--http2", "--output", "/dev/null", "--dump-header", "-",
                "--cacert", serverCa, "--cert", cert, "--key", key,
                "--resolve", $"localhost:{port}:127.0.0.1",
                "-H", "content-type: application/grpc", "-H", "te: trailers",
                "--data-binary", $"@{body}",
                $"https://localhost:{port}/grpc.health.v1.Health/Check",
            ];
            string[] connection = ["--endpoint", server.Endpoint, "--domain", "localhost", "--cert", cert, "--key", key, "--server-ca", serverCa];
            string[] ps = [.. connection, "ps", id];
            string[] runWait = [.. connection, "run", "--wait", "--", "true"];

            List<TimeSpan> curlTimes = [], psTimes = [], runWaitTimes = [], otherPsTimes = [], otherRunWaitTimes = [];
            for (int i = 0; i < WarmUp + count; i++)
            {
                var answer = await ProcessTimer.RunAsync(Curl, curl, ctx.Token);
                if (!answer.Output.Contains("grpc-status: 0", StringComparison.Ordinal))
                {
                    ctx.Report.Failure($"curl's Health/Check did not answer grpc-status 0: {answer.Output.Trim()}");
                    return;
                }

                var psRun = await ProcessTimer.RunAsync(jobs, ps, ctx.Token);
                var runWaitRun = await ProcessTimer.RunAsync(jobs, runWait, ctx.Token);
                if (i >= WarmUp)
                {
                    curlTimes.Add(answer.Elapsed);
                    psTimes.Add(psRun.Elapsed);
                    runWaitTimes.Add(runWaitRun.Elapsed);
                }

                if (other is not null)
                {
                    var otherPs = await ProcessTimer.RunAsync(other, ps, ctx.Token);
                    var otherRunWait = await ProcessTimer.RunAsync(other, runWait, ctx.Token);
                    if (i >= WarmUp)
                    {
                        otherPsTimes.Add(otherPs.Elapsed);
                        otherRunWaitTimes.Add(otherRunWait.Elapsed);
                    }
                }
            }

            curlTimes.Sort();
            psTimes.Sort();
            runWaitTimes.Sort();
            var baseline = Units.PercentileValue(curlTimes, 0.5);
            ctx.Report.Line("baseline", $"{Curl} --http2, one /grpc.health.v1.Health/Check over the same mutual TLS (grpc-status 0): {Describe(curlTimes)}");
            ctx.Report.Line("figure (ps)", $"jobs ps ID: {Describe(psTimes)}");
            ctx.Report.Line("figure (run --wait)", $"jobs run --wait -- true: {Describe(runWaitTimes)}");
            if (other is not null)
            {
                otherPsTimes.Sort();
                otherRunWaitTimes.Sort();
                ctx.Report.Line("other (ps)", $"{other} ps ID: {Describe(otherPsTimes)}");
                ctx.Report.Line("other (run --wait)", $"{other} run --wait -- true: {Describe(otherRunWaitTimes)}");
            }

            ctx.Report.Line("target", $"ps p50 <= {PsFactor} x curl p50 = {Units.Millis(baseline * PsFactor)}; run --wait p50 <= {RunWaitFactor} x curl p50 = {Units.Millis(baseline * RunWaitFactor)}");
            Verdict(ctx, "ps", psTimes, baseline * PsFactor);
            Verdict(ctx, "run --wait", runWaitTimes, baseline * RunWaitFactor);
        }
        finally
        {
            File.Delete(body);
            await ctx.StopServerAsync(server);
        }
    }

    private static string Describe(List<TimeSpan> sorted) =>
        $"p50 {Units.Percentile(sorted, 0.5)}, p90 {Units.Percentile(sorted, 0.9)}, max {Units.Millis(sorted[^1])}";

    private static void Verdict(ScenarioContext ctx, string name, List<TimeSpan> sorted, TimeSpan target)
    {
        var median = Units.PercentileValue(sorted, 0.5);
        ctx.Report.Verdict(name, median <= target, $"p50/target = {Units.Ratio(median / target)}");
    }
}
