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
                foreach (string id in new[] { bomb, other })
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
