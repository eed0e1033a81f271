using System.Diagnostics;
using System.Globalization;

namespace Jobs.Bench.Scenarios;

/// <summary>
/// The Native AOT CLI following a finished job's output into /dev/null, whole process: its CPU
/// per GiB (the CLI's share of a follow, without the server's) and its rate; then the same from
/// the gRPC ceiling, in messages of the size the server sent, as a reference: what the CLI costs
/// when the server costs nothing.
/// </summary>
/// <remarks>
/// The CLI's CPU is what the bench reaps of it (the CPU time of its reaped children, before and
/// after); the server, the bench's child too, is not reaped meanwhile.
/// </remarks>
internal static class CliLogs
{
    public const double CpuPerGiBTarget = 1.0;
    private const int Rounds = 3;

    public static async Task RunAsync(ScenarioContext ctx)
    {
        long bytes = ctx.Options.Bytes ?? Units.GiB;
        if (ctx.AotCliOrFail() is not { } jobs)
        {
            return;
        }

        ctx.Report.Line("parameters", $"bytes={Units.Size(bytes)} ({bytes} B), write-size={Units.Size(ctx.Options.WriteSize)}; {Rounds} runs of 'jobs logs ID > /dev/null' after the job ended, then one into 'wc -c' to count the bytes; {jobs}");
        var server = await ctx.StartServerAsync();
        var client = ctx.Clients.Create(server.Endpoint);
        await ctx.WarmUpAsync(client);

        Report.Progress($"a {Units.Size(bytes)} job without followers, waiting for its end");
        var run = await client.RunAsync(ctx.Flood(bytes, ctx.Options.WriteSize), cancellationToken: ctx.Token);
        var status = await Late.WaitEndedAsync(client, run.JobId, ctx.Token);
        ctx.Report.Line("job", $"{StatusText.Of(status)}, {status.StdoutBytes} stdout bytes");
        string[] logs = [.. ctx.CliConnection(server.Endpoint), "logs", run.JobId];

        var perGiB = new List<double>();
        for (int round = 1; round <= Rounds; round++)
        {
            Report.Progress($"jobs logs into /dev/null, run {round}");
            var serverCpu = CpuMeter.Start(server);
            var (cpu, time) = await TimeCliAsync(ctx, jobs, logs);
            double gib = (double)bytes / Units.GiB;
            perGiB.Add(cpu / gib);
            ctx.Report.Line($"run {round}", $"{Units.Seconds(time)}, {Units.MBps(Units.Rate(bytes, time))}; CLI CPU {cpu:F2} s ({cpu / gib:F2} s per GiB); {serverCpu.Read()}");
        }

        var (_, counted) = await ProcessTimer.RunAsync("/bin/sh", ["-c", "\"$0\" \"$@\" | wc -c", jobs, .. logs], ctx.Token);
        long delivered = long.Parse(counted.Trim(), CultureInfo.InvariantCulture);
        if (delivered != bytes)
        {
            ctx.Report.Failure($"jobs logs wrote {delivered} bytes, not {bytes}");
        }
        else
        {
            ctx.Report.Line("bytes", $"yes, {delivered} bytes through 'wc -c'");
            perGiB.Sort();
            double median = perGiB[perGiB.Count / 2];
            ctx.Report.Line("target", $"CLI CPU <= {CpuPerGiBTarget:F1} s per GiB (median of {Rounds} runs)");
            ctx.Report.Verdict("", median <= CpuPerGiBTarget, $"median {median:F2} s per GiB");
        }

        await ctx.StopServerAsync(server);
        await FromTheCeilingAsync(ctx, jobs, bytes);
    }

    // The same CLI, the same bytes, from the gRPC ceiling (warmed by as many bytes again first).
    private static async Task FromTheCeilingAsync(ScenarioContext ctx, string jobs, long bytes)
    {
        Report.Progress("reference: jobs logs from the gRPC ceiling");
        const long MessageSize = 64 * 1024;
        var (ceiling, port) = await GrpcCeiling.StartAsync(ctx);
        try
        {
            string[] logs = [.. ctx.CliConnection($"https://127.0.0.1:{port}"), "logs"];
            await TimeCliAsync(ctx, jobs, [.. logs, GrpcCeiling.JobId(ceiling, 2 * bytes, MessageSize)]);
            var perGiB = new List<double>();
            for (int round = 1; round <= Rounds; round++)
            {
                var (cpu, _) = await TimeCliAsync(ctx, jobs, [.. logs, GrpcCeiling.JobId(ceiling, bytes, MessageSize)]);
                perGiB.Add(cpu / ((double)bytes / Units.GiB));
            }

            perGiB.Sort();
            ctx.Report.Line("reference", $"the same CLI from the gRPC ceiling ({MessageSize / 1024} KiB messages from memory): CLI CPU {string.Join(", ", perGiB.Select(c => c.ToString("F2", CultureInfo.InvariantCulture)))} s per GiB (median {perGiB[perGiB.Count / 2]:F2})");
        }
        finally
        {
            await ceiling.StopOrKillAsync(TimeSpan.FromSeconds(10));
            await ceiling.DisposeAsync();
        }
    }

    // 'jobs ARGS > /dev/null': the CPU the bench reaped of it, and its time.
    private static async Task<(double Cpu, TimeSpan Time)> TimeCliAsync(ScenarioContext ctx, string jobs, string[] args)
    {
        var before = Processes.ReapedChildrenCpuTime(Environment.ProcessId);
        var clock = Stopwatch.StartNew();
        await ProcessTimer.RunAsync("/bin/sh", ["-c", "exec \"$0\" \"$@\" > /dev/null", jobs, .. args], ctx.Token);
        return ((Processes.ReapedChildrenCpuTime(Environment.ProcessId) - before).TotalSeconds, clock.Elapsed);
    }
}
