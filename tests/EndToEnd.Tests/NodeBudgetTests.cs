using System.Globalization;
using Grpc.Core;
using Jobs.Protos;

namespace Jobs.EndToEnd.Tests;

/// <summary>All jobs of a node together inside a budget that leaves the server room, on a real server with a small budget.</summary>
public sealed class NodeBudgetTests
{
    private const int Budget = 200;

    [Needs("root", "cgroup:pids", Timeout = 120_000)]
    public async Task A_fork_bomb_fills_only_the_jobs_budget_while_the_server_answers_starts_jobs_and_kills_it()
    {
        await using var server = await ServerProcess.StartCombinedAsync($"--Jobs:Platform:JobsMaxPids={Budget}");
        var (client, channel) = GrpcClients.Create(server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            string other = (await client.RunAsync(new RunRequest { Command = "sleep", Args = { "600" } })).JobId;
            string bomb = (await client.RunAsync(new RunRequest { Command = "sh", Args = { "-c", "f() { f | f & }; f; sleep 600" } })).JobId;
            try
            {
                int pid = (await client.PsAsync(new PsRequest { JobId = bomb })).Status.Pid;
                string jobs = Path.GetDirectoryName(Machine.CgroupFile(pid, "pids", "pids.max")
                    ?? throw new InvalidOperationException($"job process {pid} is in no pids cgroup"))!;
                string budget = Path.GetDirectoryName(jobs)!;
                await WaitUntilAsync(() => Current(budget) >= Budget - 5, TimeSpan.FromSeconds(30), () => $"the bomb reached {Current(budget)} processes");
                long filled = Current(budget);

                // The server is outside the budget: it answers, and a job that needs no fork still starts.
                var otherStatus = await client.PsAsync(new PsRequest { JobId = other }, deadline: DateTime.UtcNow.AddSeconds(5));
                string started = (await client.RunAsync(new RunRequest { Command = "true" }, deadline: DateTime.UtcNow.AddSeconds(10))).JobId;
                var end = (await client.WaitAsync(new WaitRequest { JobId = started }, deadline: DateTime.UtcNow.AddSeconds(30))).Status;
                var killed = (await client.KillAsync(new KillRequest { JobId = bomb, Grace = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.Zero) }, deadline: DateTime.UtcNow.AddSeconds(30))).Status;

                Assert.Equal(Budget.ToString(CultureInfo.InvariantCulture), File.ReadAllText(Path.Combine(budget, "pids.max")).Trim());
                Assert.InRange(filled, Budget - 5, Budget);
                Assert.Equal(JobState.Running, otherStatus.Status.State);
                Assert.Equal((JobState.Exited, 0), (end.State, end.ExitCode));
                Assert.Equal(EndReason.KilledByRequest, killed.EndReason);
                await WaitUntilAsync(() => Current(budget) <= 1, TimeSpan.FromSeconds(10), () => $"{Current(budget)} processes are left in the jobs' cgroup; only the other job's sleep should be");
                Assert.Contains($"all jobs together: at most {Budget} processes", server.Log, StringComparison.Ordinal);
            }
            finally
            {
                await KillAllAsync(client, bomb, other);
            }
        }
    }

    [Needs("root", "cgroup:pids", Timeout = 120_000)]
    public async Task A_fork_bomb_with_the_default_limits_hits_its_own_process_limit_while_the_server_answers_and_kill_leaves_nothing()
    {
        // The node's default for a job that asks for none, small for the test (15 % of pid_max otherwise).
        await using var server = await ServerProcess.StartCombinedAsync($"--Jobs:Platform:DefaultJobPids={DefaultPids}");
        var (client, channel) = GrpcClients.Create(server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            string other = (await client.RunAsync(new RunRequest { Command = "sleep", Args = { "600" } })).JobId;
            string bomb = (await client.RunAsync(new RunRequest { Command = "sh", Args = { "-c", "f() { f | f & }; f; sleep 600" } })).JobId;
            try
            {
                var status = (await client.PsAsync(new PsRequest { JobId = bomb })).Status;
                string own = Path.GetDirectoryName(Machine.CgroupFile(status.Pid, "pids", "pids.max")
                    ?? throw new InvalidOperationException($"job process {status.Pid} is in no pids cgroup"))!;
                string budget = Path.GetDirectoryName(own)!;
                await WaitUntilAsync(() => Current(own) >= DefaultPids - 2 && MaxEvents(own) > 0, TimeSpan.FromSeconds(30), () => $"the bomb reached {Current(own)} processes, refused {MaxEvents(own)} forks");

                // The server answers within a second, shows the bomb's figures, and a job still starts.
                var otherStatus = await client.PsAsync(new PsRequest { JobId = other }, deadline: DateTime.UtcNow.AddSeconds(1));
                var bombStatus = (await client.PsAsync(new PsRequest { JobId = bomb }, deadline: DateTime.UtcNow.AddSeconds(1))).Status;
                var node = Assert.Single((await client.NodesAsync(new NodesRequest(), deadline: DateTime.UtcNow.AddSeconds(5))).Nodes);
                string pidsMax = File.ReadAllText(Path.Combine(own, "pids.max")).Trim();
                string started = (await client.RunAsync(new RunRequest { Command = "true" }, deadline: DateTime.UtcNow.AddSeconds(10))).JobId;
                var end = (await client.WaitAsync(new WaitRequest { JobId = started }, deadline: DateTime.UtcNow.AddSeconds(30))).Status;
                var killed = (await client.KillAsync(new KillRequest { JobId = bomb, Grace = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.Zero) }, deadline: DateTime.UtcNow.AddSeconds(30))).Status;

                Assert.Equal(DefaultPids, status.Limits.Pids);
                Assert.Equal(DefaultPids.ToString(CultureInfo.InvariantCulture), pidsMax);
                Assert.Equal(JobState.Running, otherStatus.Status.State);
                Assert.InRange(bombStatus.Usage.Tasks, DefaultPids - 2, DefaultPids);
                Assert.InRange(node.JobsBudget.Used.Tasks, DefaultPids - 2, DefaultPids + 1);
                Assert.Equal(JobsMaxPids(), node.JobsBudget.MaxProcesses);
                Assert.Equal((JobState.Exited, 0), (end.State, end.ExitCode));
                Assert.Equal(EndReason.KilledByRequest, killed.EndReason);
                await WaitUntilAsync(() => Current(budget) <= 1, TimeSpan.FromSeconds(10), () => $"{Current(budget)} processes are left in the jobs' cgroup; only the other job's sleep should be");
                Assert.False(Directory.Exists(own) && Current(own) > 0, $"processes of the bomb are left in {own}");
                Assert.Contains($"gets at most {DefaultPids} processes", server.Log, StringComparison.Ordinal);
            }
            finally
            {
                await KillAllAsync(client, bomb, other);
            }
        }
    }

    [Needs("root", "cgroup:memory", Timeout = 120_000)]
    public async Task A_job_over_the_nodes_memory_budget_is_ended_by_the_oom_killer_and_never_the_server()
    {
        int metricsPort = FreePorts.Next();
        await using var server = await ServerProcess.StartCombinedAsync($"--Jobs:Platform:JobsMaxMemory={MemoryBudgetMiB}M", $"--Gateway:MetricsListen=127.0.0.1:{metricsPort}");
        var (client, channel) = GrpcClients.Create(server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            // No memory limit of its own: three processes hold 40 MiB each, and the job's main
            // process (tail keeps a line without end whole) grows until the budget of all jobs is full.
            string id = (await client.RunAsync(new RunRequest
            {
                Command = "sh",
                Args = { "-c", "for i in 1 2 3; do head -c 40M /dev/zero | tail > /dev/null & done; sleep 1; exec tail /dev/zero" },
            })).JobId;
            try
            {
                var end = (await client.WaitAsync(new WaitRequest { JobId = id }, deadline: DateTime.UtcNow.AddSeconds(60))).Status;
                var ps = await Cli.RunAsync(server.Endpoint, "ps", id);
                var nodes = await Cli.RunAsync(server.Endpoint, "nodes");
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
                string metrics = await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics");

                Assert.Equal((JobState.Killed, "SIGKILL", EndReason.OutOfMemory), (end.State, end.SignalName, end.EndReason));
                Assert.True(end.OomKills >= 1, end.ToString());
                Assert.Equal(0, end.Limits.MemoryBytes);
                Assert.InRange(end.Usage.MemoryPeakBytes, (MemoryBudgetMiB - 16L) << 20, (long)MemoryBudgetMiB << 20);
                Assert.StartsWith("Killed signal=SIGKILL (out of memory)\n", StatusLines.StatusOf(ps.StdoutText), StringComparison.Ordinal);
                Assert.False(server.HasExited, "the server was killed");
                Assert.Equal(JobState.Exited, (await client.RunAsync(new RunRequest { Command = "true" }, deadline: DateTime.UtcNow.AddSeconds(10))) is { } run
                    ? (await client.WaitAsync(new WaitRequest { JobId = run.JobId }, deadline: DateTime.UtcNow.AddSeconds(30))).Status.State
                    : JobState.Unspecified);
                // nodes: the jobs' share of the node, and what is used of it; Prometheus: the same per node.
                Assert.Matches($@"(?m)\s\d+/\d+ +\d+/{MemoryBudgetMiB} MiB$", nodes.StdoutText);
                Assert.Matches($@"(?m)^jobs_node_memory_limit(_bytes)?(\{{[^}}]*\}})? {(long)MemoryBudgetMiB << 20}\b", metrics);
                Assert.Matches(@"(?m)^jobs_node_cpu_time(_seconds)?_total(\{[^}]*\})? [0-9.e+-]+", metrics);
                Assert.Matches(@"(?m)^jobs_node_tasks(\{[^}]*\})? \d+", metrics);
            }
            finally
            {
                await KillAllAsync(client, id);
            }
        }
    }

    private const int DefaultPids = 100;
    private const int MemoryBudgetMiB = 256;

    // The default budget of all jobs' processes: the kernel's limit less 15 %.
    private static long JobsMaxPids()
    {
        long kernel = Math.Min(
            long.Parse(File.ReadAllText("/proc/sys/kernel/pid_max").Trim(), CultureInfo.InvariantCulture),
            long.Parse(File.ReadAllText("/proc/sys/kernel/threads-max").Trim(), CultureInfo.InvariantCulture));
        return kernel - (kernel * 15 / 100);
    }

    // Forks the job's pids.max refused.
    private static long MaxEvents(string cgroup)
    {
        string events = Path.Combine(cgroup, "pids.events");
        return File.Exists(events)
            ? File.ReadLines(events).Where(l => l.StartsWith("max ", StringComparison.Ordinal)).Select(l => long.Parse(l[4..], CultureInfo.InvariantCulture)).FirstOrDefault()
            : 1;
    }

    private static async Task KillAllAsync(Protos.Jobs.JobsClient client, params string[] ids)
    {
        foreach (string id in ids)
        {
            try
            {
                await client.KillAsync(new KillRequest { JobId = id, Grace = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.Zero) }, deadline: DateTime.UtcNow.AddSeconds(30));
            }
            catch (RpcException)
            {
                // Ended already; the server's stop kills whatever is left.
            }
        }
    }

    private static long Current(string cgroup) =>
        long.Parse(File.ReadAllText(Path.Combine(cgroup, "pids.current")).Trim(), CultureInfo.InvariantCulture);

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> describe)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"not within {timeout.TotalSeconds:F0} s: {describe()}");
            }

            await Task.Delay(50);
        }
    }
}
