using System.Diagnostics;
using System.Text.Json;
using Jobs.Protos;
using Jobs.TestSupport;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// A node that dies (SIGKILL of its Silo process) and a node that is drained, each on a
/// <see cref="RedisCluster"/> of its own, through the real CLI.
/// </summary>
public sealed class ClusterFailureTests(ITestOutputHelper output) : IClassFixture<RedisInstalled>
{
    private static readonly TimeSpan LostWithin = TimeSpan.FromSeconds(30);
    // Long enough for the short job's 5 s of lines on a loaded machine: jobs run at a CPU weight
    // of 10 against the server's 1,024, and a full CI run once gave it 9 lines in 10.5 s.
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(20);

    [Fact(Timeout = 240_000)]
    public async Task Killing_a_silo_makes_its_jobs_lost_and_the_rest_of_the_cluster_goes_on()
    {
        await using var cluster = await RedisCluster.StartAsync();
        var cli = new ClusterCli(cluster);
        string pidFile = Path.Combine(Path.GetTempPath(), $"jobs-cluster-grandchild-{Guid.NewGuid():N}");
        var pids = new List<int>();
        try
        {
            string lost = await cli.StartAsync("--node", "n2", "--", TestChildProgram.Path, "spawn-grandchild", pidFile);
            string kept = await cli.StartAsync("--node", "n1", "--", TestChildProgram.Path, "drip", "100000", "0.05");
            pids.Add((await cluster.PsAsync(lost)).Pid);
            pids.Add(await Processes.ReadPidFileAsync(pidFile, TimeSpan.FromSeconds(20)));
            var (lostFollower, lostAttached) = cli.FollowUntilSeenAsync("ready\n", "logs", lost);
            var (keptFollower, keptAttached) = cli.FollowUntilSeenAsync("line 1\n", "logs", kept);
            // Both followers have printed output of their jobs: they are attached before the kill.
            await Task.WhenAll(lostAttached, keptAttached).WaitAsync(TimeSpan.FromSeconds(60));

            var sinceKill = Stopwatch.StartNew();
            await cluster.KillSiloAsync("n2");
            var lostFollowerEnded = lostFollower.ContinueWith(_ => sinceKill.Elapsed, TaskScheduler.Default);

            foreach (int pid in pids)
            {
                cli.Expect(await Processes.WaitGoneAsync(pid, TimeSpan.FromSeconds(10)), $"job process {pid} of the killed silo still runs {sinceKill.Elapsed.TotalSeconds:F1} s after the kill");
            }

            output.WriteLine($"SIGKILL -> the job's processes gone: {sinceKill.Elapsed.TotalSeconds:F2} s");
            var lostStatus = await WaitForStateAsync(cli, lost, "JOB_STATE_LOST", LostWithin + TimeSpan.FromSeconds(30), output);
            var toLost = sinceKill.Elapsed;
            output.WriteLine($"SIGKILL -> ps says LOST: {toLost.TotalSeconds:F2} s");
            cli.Expect(toLost <= LostWithin, $"ps said LOST only {toLost.TotalSeconds:F1} s after the kill");
            Assert.Equal("n2", lostStatus.GetProperty("node").GetString());

            var followerTimeout = Task.Delay(LostWithin + TimeSpan.FromSeconds(10));
            cli.Expect(await Task.WhenAny(lostFollower, followerTimeout) == lostFollower, "the follower of the lost job did not end");
            var follower = await lostFollower;
            var followerEnd = await lostFollowerEnded;
            output.WriteLine($"SIGKILL -> the lost job's follower ended: {followerEnd.TotalSeconds:F2} s ({follower})");
            cli.Expect(follower.ExitCode == 6, $"the lost job's follower: {follower}");
            Assert.Equal("ready\n", follower.StdoutText);
            cli.Expect(followerEnd <= LostWithin, $"the lost job's follower ended {followerEnd.TotalSeconds:F1} s after the kill");

            // The other node's job, its follower and the gateway go on untouched.
            Assert.False(cluster.Gateway.HasExited, "the gateway exited when a silo died");
            var keptStatus = await cli.PsAsync(kept);
            Assert.Equal(("JOB_STATE_RUNNING", "n1"), (keptStatus.GetProperty("state").GetString(), keptStatus.GetProperty("node").GetString()));
            if (keptFollower.IsCompleted)
            {
                cli.Expect(false, $"the follower of the job on n1 ended: {await keptFollower}");
            }

            var list = await cli.RunAsync("ps", "-o", "json");
            var table = await cli.RunAsync("ps");
            using (var document = JsonDocument.Parse(list.StdoutText))
            {
                var listed = document.RootElement.GetProperty("jobs").EnumerateArray().Single(j => j.GetProperty("jobId").GetString() == lost);
                Assert.Equal("JOB_STATE_LOST", listed.GetProperty("state").GetString());
            }

            string? row = table.StdoutText.Split('\n').FirstOrDefault(l => l.StartsWith(lost, StringComparison.Ordinal));
            Assert.True(row is not null, table.ToString());
            Assert.Contains("lost", row, StringComparison.OrdinalIgnoreCase);

            var after = await cli.StartAsync("--", TestChildProgram.Path, "echo", "after the loss");
            Assert.Equal("n1", (await cluster.PsAsync(after)).Node);
            Assert.Equal("after the loss\n", (await cli.RunAsync("logs", after)).StdoutText);
            await cluster.WaitForNodesAsync(nodes => !nodes.Any(n => n.Name == "n2" && n.Status != NodeStatus.Dead), TimeSpan.FromSeconds(30));

            // Ending the job on n1 ends its follower, which got every line once and in order.
            await cli.RunAsync("kill", kept);
            var keptOutput = await keptFollower;
            var stored = await cli.RunAsync("logs", "--follow=false", kept);
            string[] lines = keptOutput.StdoutText.Split('\n')[..^1];
            output.WriteLine($"the job on n1 wrote {lines.Length} lines");
            Assert.Equal(0, keptOutput.ExitCode);
            Assert.True(lines.Length > 20, keptOutput.ToString());
            Assert.Equal(Enumerable.Range(0, lines.Length).Select(i => $"line {i}"), lines);
            Assert.Equal(stored.StdoutText, keptOutput.StdoutText);

            // n2 started again (same name and ports) joins as a new node; the job it lost stays lost.
            await cluster.RestartSiloAsync("n2");
            var sinceRestart = Stopwatch.StartNew();
            await cluster.WaitForNodesAsync(nodes => nodes.Any(n => n.Name == "n2" && n.Status == NodeStatus.Active), TimeSpan.FromSeconds(30));
            output.WriteLine($"restart -> n2 listed active: {sinceRestart.Elapsed.TotalSeconds:F2} s");
            await cluster.WaitForNodesAsync(nodes => nodes.Any(n => n.Name == "n2" && n.Status == NodeStatus.Active && n.Answered), TimeSpan.FromSeconds(30));
            output.WriteLine($"restart -> n2 active and answering: {sinceRestart.Elapsed.TotalSeconds:F2} s");
            string again = await cli.StartAsync("--node", "n2", "--", TestChildProgram.Path, "echo", "n2 is back");
            Assert.Equal("n2 is back\n", (await cli.RunAsync("logs", again)).StdoutText);
            Assert.Equal("JOB_STATE_LOST", (await cli.PsAsync(lost)).GetProperty("state").GetString());
        }
        catch (XunitException e) when (!e.Message.Contains(RedisCluster.LogsHeader, StringComparison.Ordinal))
        {
            throw new XunitException($"{e.Message}\n{cluster.Logs}", e);
        }
        finally
        {
            await cli.KillStartedAsync();
            pids.ForEach(Processes.KillIfAlive);
            File.Delete(pidFile);
        }
    }

    [Fact(Timeout = 240_000)]
    public async Task Draining_a_node_sends_new_jobs_elsewhere_waits_for_short_jobs_kills_long_ones_and_leaves()
    {
        await using var cluster = await RedisCluster.StartAsync(new Dictionary<string, string[]> { ["n1"] = [$"--Jobs:DrainTimeout={DrainTimeout:c}"] });
        var cli = new ClusterCli(cluster);
        var jobPids = new List<int>();
        bool ended = false;
        try
        {
            var notAdmin = await cli.RunAsync("drain", "n1");
            Assert.True(notAdmin.ExitCode == 5, notAdmin.ToString());
            string longJob = await cli.StartAsync("--node", "n1", "--", TestChildProgram.Path, "sleep", "600");
            jobPids.Add((await cluster.PsAsync(longJob)).Pid);
            // About 5 s: it ends while the node drains (a CLI call takes a second or two here), well before the drain timeout.
            string shortJob = await cli.StartAsync("--node", "n1", "--", TestChildProgram.Path, "drip", "10", "0.5");
            var shortFollower = cli.FollowAsync("logs", shortJob);
            var shortWait = cli.FollowAsync("wait", shortJob);
            var longWait = cli.FollowAsync("wait", longJob);

            var sinceDrain = Stopwatch.StartNew();
            output.WriteLine($"{DateTime.Now:HH:mm:ss.fff} jobs drain n1");
            var drain = await cli.AdminAsync("drain", "--no-wait", "n1");
            var longGone = Task.Run(async () => await Processes.WaitGoneAsync(jobPids[0], TimeSpan.FromSeconds(60)) ? sinceDrain.Elapsed : (TimeSpan?)null);
            output.WriteLine($"{sinceDrain.Elapsed.TotalSeconds,6:F2} s: jobs drain --no-wait n1 answered: {drain}");
            cli.Expect(drain.ExitCode == 0, $"jobs drain --no-wait n1: {drain}");
            // Both jobs ran when the drain began: the short one ends during it.
            Assert.StartsWith("draining n1: 2 running jobs", drain.StdoutText);
            // Draining a node that drains already is no error; without --no-wait it waits until the node has left.
            var drainWaits = cli.AdminFollowAsync("drain", "n1");

            var nodes = await cli.NodesAsync();
            output.WriteLine($"{sinceDrain.Elapsed.TotalSeconds,6:F2} s: jobs nodes answered");
            var n1 = nodes.Single(n => n.GetProperty("name").GetString() == "n1");
            Assert.Equal(("NODE_STATUS_DRAINING", false), (n1.GetProperty("status").GetString(), n1.GetProperty("acceptsJobs").GetBoolean()));
            string elsewhere = await cli.StartAsync("--", TestChildProgram.Path, "echo", "while n1 drains");
            Assert.Equal("n2", (await cluster.PsAsync(elsewhere)).Node);
            var refused = await cli.RunAsync("run", "--node", "n1", "--", TestChildProgram.Path, "echo", "refused");
            output.WriteLine($"{sinceDrain.Elapsed.TotalSeconds,6:F2} s: new jobs checked");
            Assert.True(refused.ExitCode == 1, refused.ToString());
            Assert.Contains("n2", refused.Stderr);

            var shortOutput = await shortFollower;
            output.WriteLine($"{sinceDrain.Elapsed.TotalSeconds,6:F2} s: the short job's follower ended: {shortOutput}");
            Assert.Equal((0, string.Concat(Enumerable.Range(0, 10).Select(i => $"line {i}\n"))), (shortOutput.ExitCode, shortOutput.StdoutText));
            var shortWaited = await shortWait;
            Assert.True(shortWaited.ExitCode == 0, $"jobs wait of the short job: {shortWaited}");
            // Once n1 has left (soon, on a loaded machine) its jobs are LOST, keeping how they had ended.
            var shortStatus = await cluster.PsAsync(shortJob);
            Assert.Contains(shortStatus.State, new[] { JobState.Exited, JobState.Lost });
            Assert.Equal(0, shortStatus.ExitCode);
            var killedAfter = await longGone;
            output.WriteLine($"{killedAfter?.TotalSeconds,6:F2} s: the long job's process is gone");
            cli.Expect(killedAfter is { } after && after >= DrainTimeout - TimeSpan.FromSeconds(0.5) && after <= DrainTimeout + TimeSpan.FromSeconds(15), $"the long job's process ended {killedAfter?.TotalSeconds:F1} s after the drain, not after the {DrainTimeout.TotalSeconds} s drain timeout");
            var longOutput = await longWait;
            output.WriteLine($"{sinceDrain.Elapsed.TotalSeconds,6:F2} s: the long job's wait ended: {longOutput}");
            // 128 + SIGTERM. Known race (reported): the node leaves right after its last kill, and a
            // follower that has not yet had the end by then hears LOST (6) instead; ps keeps the signal.
            cli.Expect(longOutput.ExitCode is 128 + 15 or 6, $"jobs wait of the long job: {longOutput}");
            var longStatus = await cluster.PsAsync(longJob);
            cli.Expect(longStatus.State is JobState.Killed or JobState.Lost && longStatus.Signal == 15, $"the long job's status: {longStatus}");

            var waited = await drainWaits;
            output.WriteLine($"{sinceDrain.Elapsed.TotalSeconds,6:F2} s: jobs drain n1 (waiting) ended: {waited}");
            cli.Expect(waited.ExitCode == 0 && waited.StdoutText.Contains("n1 left the cluster", StringComparison.Ordinal), $"jobs drain n1 (waiting): {waited}");
            var n1Silo = cluster.Silo("n1");
            cli.Expect(await n1Silo.WaitForExitAsync(TimeSpan.FromSeconds(30)), "n1 did not leave: its process still runs 30 s after its jobs ended");
            output.WriteLine($"{sinceDrain.Elapsed.TotalSeconds,6:F2} s: n1's process exited (code {n1Silo.ExitCode})");
            Assert.Equal(0, n1Silo.ExitCode);
            await cluster.WaitForNodesAsync(all => !all.Any(n => n.Name == "n1" && n.Status != NodeStatus.Dead), TimeSpan.FromSeconds(30));
            string afterLeave = await cli.StartAsync("--", TestChildProgram.Path, "echo", "after n1 left");
            Assert.Equal("n2", (await cluster.PsAsync(afterLeave)).Node);

            // Nothing of the cluster outlives it: processes, jobs, Redis (and with it every key).
            var everything = cluster.Pids.Concat(jobPids).ToList();
            await cluster.DisposeAsync();
            ended = true;
            foreach (int pid in everything)
            {
                Assert.True(await Processes.WaitGoneAsync(pid, TimeSpan.FromSeconds(10)), $"process {pid} outlived the cluster");
            }
        }
        catch (XunitException e) when (!e.Message.Contains(RedisCluster.LogsHeader, StringComparison.Ordinal))
        {
            throw new XunitException($"{e.Message}\n{cluster.Logs}", e);
        }
        finally
        {
            if (!ended)
            {
                await cli.KillStartedAsync();
            }

            jobPids.ForEach(Processes.KillIfAlive);
        }
    }

    /// <summary>
    /// Asks <c>jobs ps ID -o json</c> until the job is in <paramref name="state"/>; its status then.
    /// Answers on the way (errors too, while the cluster has not yet declared a node dead) go to the test's output.
    /// </summary>
    private static async Task<JsonElement> WaitForStateAsync(ClusterCli cli, string id, string state, TimeSpan timeout, ITestOutputHelper output)
    {
        var clock = Stopwatch.StartNew();
        string last = "";
        while (true)
        {
            var ps = await cli.RunAsync("ps", id, "-o", "json");
            string answer = ps.ExitCode == 0 ? ps.StdoutText.Trim() : ps.ToString();
            if (ps.ExitCode == 0)
            {
                using var document = JsonDocument.Parse(ps.StdoutText);
                if (document.RootElement.GetProperty("state").GetString() == state)
                {
                    return document.RootElement.Clone();
                }

                answer = $"state {document.RootElement.GetProperty("state").GetString()}";
            }

            if (answer != last)
            {
                output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F2} s: ps {id}: {answer}");
                last = answer;
            }

            cli.Expect(clock.Elapsed < timeout, $"job {id} is not {state} after {timeout}: {answer}");
            await Task.Delay(200);
        }
    }
}
