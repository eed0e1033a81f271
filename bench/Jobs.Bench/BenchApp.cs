using System.Diagnostics;
using System.Runtime.InteropServices;
using Jobs.Bench.Scenarios;

namespace Jobs.Bench;

/// <summary>Parses the command line, runs the scenarios one after the other (each with its own server and time limit) and chooses the exit code.</summary>
internal static class BenchApp
{
    private static readonly Dictionary<string, Func<ScenarioContext, Task>> s_scenarios = new()
    {
        ["throughput"] = Throughput.RunAsync,
        ["fanout"] = Fanout.RunAsync,
        ["late"] = Late.RunAsync,
        ["slow-follower"] = SlowFollower.RunAsync,
        ["start-rate"] = StartRate.RunAsync,
        ["idle"] = Idle.RunAsync,
        ["finished"] = Finished.RunAsync,
        ["cold-start"] = ColdStart.RunAsync,
        ["cli"] = Cli.RunAsync,
        ["cli-logs"] = CliLogs.RunAsync,
        ["busy"] = Busy.RunAsync,
        ["echo"] = Echo.RunAsync,
        ["soak"] = Soak.RunAsync,
        ["node-loss"] = NodeLoss.RunAsync,
    };

    public static async Task<int> RunAsync(string[] args)
    {
        BenchOptions options;
        BenchPaths paths;
        try
        {
            options = BenchOptions.Parse(args);
            if (options.Help)
            {
                Console.Out.WriteLine(BenchOptions.Usage);
                return 0;
            }

            paths = BenchPaths.Find(options.Root);
        }
        catch (UsageException e)
        {
            await Console.Error.WriteLineAsync($"Jobs.Bench: {e.Message}\n\n{BenchOptions.Usage}");
            return 2;
        }

        if (!OperatingSystem.IsLinux())
        {
            await Console.Error.WriteLineAsync("Jobs.Bench: Linux only (it reads /proc)");
            return 2;
        }

        var missing = paths.Missing(options.Kind);
        if (missing.Count > 0)
        {
            await Console.Error.WriteLineAsync($"Jobs.Bench: missing {string.Join(", ", missing)}\nbuild the server first:\n  {paths.BuildCommand}");
            return 2;
        }

        // Ctrl+C or SIGTERM: stop the scenario and its servers in order. A second signal kills the
        // servers (and with them their jobs) at once.
        using var interrupt = new CancellationTokenSource();
        void OnSignal(PosixSignalContext context)
        {
            if (!interrupt.IsCancellationRequested)
            {
                context.Cancel = true;
                Report.Progress($"{context.Signal}: stopping");
                interrupt.Cancel();
            }
            else
            {
                Report.Progress($"{context.Signal} again: exiting now");
                ServerProcess.KillAll(Report.Progress);
            }
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        var names = options.ScenariosToRun;
        var reports = new List<(Report Report, Outcome Outcome)>();
        foreach (string name in names)
        {
            var (report, outcome) = await RunScenarioAsync(name, s_scenarios[name], options, paths, interrupt.Token);
            reports.Add((report, outcome));
            if (interrupt.IsCancellationRequested)
            {
                break;
            }
        }

        if (reports.Count > 1)
        {
            Console.Out.WriteLine();
            Console.Out.WriteLine($"== summary ({options.Deployment}) ==");
            foreach (var (report, outcome) in reports)
            {
                Report.Write(report.Scenario, $"{outcome.ToString().ToUpperInvariant()}  {report.Brief}");
            }
        }

        var outcomes = reports.Select(r => r.Outcome).ToList();
        return outcomes.Contains(Outcome.Failed) ? 1
            : outcomes.Contains(Outcome.Error) ? 2
            : outcomes.Contains(Outcome.Timeout) ? 3
            : outcomes.Contains(Outcome.Interrupted) ? 130
            : 0;
    }

    private static async Task<(Report, Outcome)> RunScenarioAsync(string name, Func<ScenarioContext, Task> scenario, BenchOptions options, BenchPaths paths, CancellationToken interrupt)
    {
        var report = new Report(name, options.Deployment);
        Console.Out.WriteLine();
        Console.Out.WriteLine($"== {name} ({options.Deployment}) ==");
        report.Line("scenario", name);
        report.Line("deployment", options.Kind switch
        {
            DeploymentKind.Split => "split (a Silo process and a Gateway with --Gateway:Silo=Remote)",
            DeploymentKind.Cluster => $"cluster (Silo processes {string.Join(" and ", BenchOptions.ClusterNodes)} clustered on a redis-server of their own, a Gateway with --Gateway:Silo=Remote); "
                + (options.JobNode.Length == 0 ? "jobs placed by the server (--spread: RunRequest.node empty)" : $"jobs run on {options.JobNode} (RunRequest.node)"),
            _ => "combined (the one-command server: the Gateway hosts the silo)",
        });
        if (options.ServerArgs.Count > 0)
        {
            report.Line("server args", string.Join(' ', options.ServerArgs));
        }

        report.Line("units", "MB = 10^6 bytes, GB = 10^9 bytes; sizes in KiB/MiB/GiB are 1024-based");

        using var timeout = new CancellationTokenSource(options.Timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, interrupt);
        var clock = Stopwatch.StartNew();
        Outcome outcome;
        await using (var context = new ScenarioContext(options, paths, report, linked.Token))
        {
            try
            {
                await scenario(context);
                outcome = report.Outcome;
            }
            catch (Exception e) when (IsCancellation(e) && interrupt.IsCancellationRequested)
            {
                context.ReportPartial();
                report.Line("result", $"INTERRUPTED after {Units.Seconds(clock.Elapsed)}");
                outcome = Outcome.Interrupted;
            }
            catch (Exception e) when (IsCancellation(e) && timeout.IsCancellationRequested)
            {
                context.ReportPartial();
                report.Line("result", $"TIMEOUT after {Units.Seconds(clock.Elapsed)} (limit {options.Timeout.TotalMinutes:F0} min, --timeout)");
                outcome = report.Failed ? Outcome.Failed : Outcome.Timeout;
            }
            catch (ServerStartException e)
            {
                report.Line("result", $"ERROR the server did not start: {e.Message.Split('\n')[0]}");
                await Console.Error.WriteLineAsync(e.Message);
                outcome = Outcome.Error;
            }
            catch (Exception e)
            {
                report.Line("result", $"ERROR {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
                await Console.Error.WriteLineAsync(e.ToString());
                outcome = report.Failed ? Outcome.Failed : Outcome.Error;
            }
        }

        report.Line("scenario time", Units.Seconds(clock.Elapsed));
        return (report, outcome);
    }

    private static bool IsCancellation(Exception e) =>
        e is OperationCanceledException || (e is Grpc.Core.RpcException rpc && rpc.StatusCode == Grpc.Core.StatusCode.Cancelled);
}
