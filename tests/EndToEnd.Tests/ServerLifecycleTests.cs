using Jobs.TestChild;
using Jobs.TestSupport;

namespace Jobs.EndToEnd.Tests;

/// <summary>Servers of their own: stopping them, and the split silo + gateway deployment.</summary>
public sealed class ServerLifecycleTests
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(45);

    [Fact(Timeout = 180_000)]
    public Task Stopping_the_server_leaves_no_job_process_behind() =>
        AssertServerEndLeavesNoJobProcessAsync(server => server.StopAsync(StopTimeout), grandchildArgs: []);

    [Fact(Timeout = 180_000)]
    public Task A_server_killed_with_SIGKILL_leaves_no_job_process_behind() =>
        AssertServerEndLeavesNoJobProcessAsync(server => server.KillHardAsync(), grandchildArgs: ["setsid"]);

    [Fact(Timeout = 180_000)]
    public async Task Split_silo_and_gateway_run_follow_and_kill_jobs()
    {
        int siloGatewayPort = FreePorts.Next();
        int metricsPort = FreePorts.Next();
        await using var silo = await ServerProcess.StartSiloAsync(FreePorts.Next(), siloGatewayPort, $"--Orleans:MetricsListen=127.0.0.1:{metricsPort}");
        await using var gateway = await ServerProcess.StartRemoteGatewayAsync(siloGatewayPort);

        var run = await Cli.RunAsync(gateway.Endpoint, "run", "--", TestChildProgram.Path, "drip", "50", "0.01");
        Assert.True(run.ExitCode == 0, run + "\n" + gateway.Log);
        string id = run.StdoutText.Trim();
        var logs = await Cli.RunAsync(gateway.Endpoint, "logs", id);
        Assert.Equal(string.Concat(Enumerable.Range(0, 50).Select(i => $"line {i}\n")), logs.StdoutText);
        Assert.Equal("Exited code=0\n", StatusLines.StatusOf((await Cli.RunAsync(gateway.Endpoint, "ps", id)).StdoutText));

        // The silo's own scrape endpoint has the job (the gateway's would not: jobs live in the silo).
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) })
        {
            Assert.Matches(@"(?m)^jobs_finished_total\{[^}]*outcome=""exited""[^}]*\} [1-9]", await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics"));
        }

        int sleeper = await StartAndGetPidAsync(gateway.Endpoint, TestChildProgram.Path, "sleep", "600");
        try
        {
            var killedId = (await Cli.RunAsync(gateway.Endpoint, "run", "--", TestChildProgram.Path, "sleep", "600")).StdoutText.Trim();
            Assert.EndsWith("(killed by request)\n", (await Cli.RunAsync(gateway.Endpoint, "kill", killedId)).StdoutText);

            // The gateway holds no job: stopping the silo is what ends them.
            await gateway.StopAsync(StopTimeout);
            Assert.True(Processes.IsAlive(sleeper));
            await silo.StopAsync(StopTimeout);
            Assert.True(await Processes.WaitGoneAsync(sleeper, TimeSpan.FromSeconds(5)), $"a job outlived the silo\n{silo.Log}");
        }
        finally
        {
            Processes.KillIfAlive(sleeper);
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task Logs_says_when_the_per_job_cap_dropped_output_and_goes_on_from_there()
    {
        const int size = 6 * 1024 * 1024;
        await using var server = await ServerProcess.StartCombinedAsync("--Jobs:MaxOutputBytesPerJob=1048576");
        var run = await Cli.RunAsync(server.Endpoint, "run", "--", TestChildProgram.Path, "flood", size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        string id = run.StdoutText.Trim();
        Assert.Equal(0, (await Cli.RunAsync(server.Endpoint, "logs", id)).ExitCode);

        var logs = await Cli.RunAsync(server.Endpoint, "logs", id);

        Assert.Equal(0, logs.ExitCode);
        var match = System.Text.RegularExpressions.Regex.Match(logs.Stderr, @"dropped .* continuing from stdout offset (\d+)");
        Assert.True(match.Success, logs.Stderr);
        long first = long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var expected = new byte[size - first];
        Pattern.Fill(first, expected);
        Assert.True(expected.AsSpan().SequenceEqual(logs.Stdout), $"{logs.Stdout.Length} bytes after offset {first} differ from what the job wrote");
    }

    // Runs a sleeping job and one with a grandchild, ends the server as told, and expects every one
    // of their processes gone within 5 s.
    private static async Task AssertServerEndLeavesNoJobProcessAsync(Func<ServerProcess, Task> end, string[] grandchildArgs)
    {
        await using var server = await ServerProcess.StartCombinedAsync();
        string pidFile = Path.Combine(Path.GetTempPath(), $"jobs-e2e-{Guid.NewGuid():N}.pid");
        var pids = new List<int>();
        try
        {
            pids.Add(await StartAndGetPidAsync(server.Endpoint, TestChildProgram.Path, "sleep", "600"));
            pids.Add(await StartAndGetPidAsync(server.Endpoint, [TestChildProgram.Path, "spawn-grandchild", pidFile, .. grandchildArgs]));
            pids.Add(await Processes.ReadPidFileAsync(pidFile, TimeSpan.FromSeconds(30)));
            Assert.All(pids, pid => Assert.True(Processes.IsAlive(pid)));

            await end(server);

            foreach (int pid in pids)
            {
                Assert.True(await Processes.WaitGoneAsync(pid, TimeSpan.FromSeconds(5)), $"process {pid} outlived the server by 5 s\n{server.Log}");
            }
        }
        finally
        {
            pids.ForEach(Processes.KillIfAlive);
            File.Delete(pidFile);
        }
    }

    private static async Task<int> StartAndGetPidAsync(string endpoint, params string[] command)
    {
        var run = await Cli.RunAsync(endpoint, ["run", "--", .. command]);
        Assert.True(run.ExitCode == 0, run.ToString());
        var ps = await Cli.RunAsync(endpoint, "ps", run.StdoutText.Trim());
        return StatusLines.Pid(ps.StdoutText);
    }
}
