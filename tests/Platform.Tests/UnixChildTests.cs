using Jobs.TestChild;
using Jobs.TestSupport;

namespace Jobs.Platform.Tests;

/// <summary>The child-process contract, against the implementation for the OS the tests run on.</summary>
public sealed class UnixChildTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly IChildLauncher _launcher = ChildLauncher.CreateForCurrentOS();
    private readonly string _scratch = Directory.CreateTempSubdirectory("jobs-platform-tests-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        using var cleanup = new CancellationTokenSource(Patience);
        await _launcher.KillAllAsync(cleanup.Token);
    }

    public void Dispose()
    {
        (_launcher as IDisposable)?.Dispose();
        Directory.Delete(_scratch, recursive: true);
    }

    [Fact(Timeout = 30_000)]
    public async Task Kill_stops_grandchildren_too()
    {
        string pidFile = Path.Combine(_scratch, "grandchild.pid");
        var child = await _launcher.StartAsync(new ChildSpec(TestChildProgram.Path, ["spawn-grandchild", pidFile]), CancellationToken.None);
        int grandchild = await Processes.ReadPidFileAsync(pidFile, Patience);
        try
        {
            var exit = await child.KillAsync(CancellationToken.None);

            Assert.True(exit.Killed);
            Assert.Equal(9, exit.Signal);
            Assert.Equal("SIGKILL", exit.SignalName);
            Assert.False(Processes.IsAlive(child.Pid), "the child outlived kill");
            Assert.False(Processes.IsAlive(grandchild), "the grandchild outlived kill");
        }
        finally
        {
            Processes.KillIfAlive(grandchild);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Kill_reaches_a_grandchild_that_started_its_own_session()
    {
        Assert.Contains("cgroups", _launcher.TreeTracking);
        string pidFile = Path.Combine(_scratch, "escaped.pid");
        var child = await _launcher.StartAsync(new ChildSpec(TestChildProgram.Path, ["spawn-grandchild", pidFile, "setsid"]), CancellationToken.None);
        int grandchild = await Processes.ReadPidFileAsync(pidFile, Patience);
        try
        {
            await child.KillAsync(CancellationToken.None);

            Assert.True(await Processes.WaitGoneAsync(grandchild, TimeSpan.FromSeconds(2)), "a grandchild in its own session outlived kill");
        }
        finally
        {
            Processes.KillIfAlive(grandchild);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Processes_left_behind_by_an_exited_child_are_killed()
    {
        string pidFile = Path.Combine(_scratch, "left-behind.pid");
        var child = await _launcher.StartAsync(new ChildSpec("sh", ["-c", $"'{TestChildProgram.Path}' sleep 600 & echo $! > '{pidFile}'; exit 5"]), CancellationToken.None);
        int leftBehind = await Processes.ReadPidFileAsync(pidFile, Patience);
        try
        {
            var (_, exit) = await DrainAsync(child);

            Assert.Equal(5, exit.ExitCode);
            Assert.False(Processes.IsAlive(leftBehind), "a background process outlived its job");
        }
        finally
        {
            Processes.KillIfAlive(leftBehind);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Missing_program_fails_with_the_OS_error()
    {
        var error = await Assert.ThrowsAsync<ChildStartException>(() => _launcher.StartAsync(new ChildSpec("jobs-no-such-program", []), CancellationToken.None));

        Assert.Contains("No such file or directory", error.Message);
    }

    [Fact(Timeout = 30_000)]
    public async Task Program_that_is_not_executable_fails_with_the_OS_error()
    {
        string file = Path.Combine(_scratch, "not-executable");
        await File.WriteAllTextAsync(file, "#!/bin/sh\n");

        var error = await Assert.ThrowsAsync<ChildStartException>(() => _launcher.StartAsync(new ChildSpec(file, []), CancellationToken.None));

        Assert.Contains("Permission denied", error.Message);
    }

    [Fact(Timeout = 30_000)]
    public async Task Child_gets_default_signal_handling()
    {
        // The runtime ignores SIGPIPE and blocks signals on its threads; both would survive exec.
        var child = await _launcher.StartAsync(new ChildSpec("grep", ["-E", "^Sig(Ign|Blk)", "/proc/self/status"]), CancellationToken.None);

        var (outputs, exit) = await DrainAsync(child);

        Assert.Equal(0, exit.ExitCode);
        var masks = Text(outputs, ChildStream.Stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .ToDictionary(l => l.Split(':')[0], l => Convert.ToUInt64(l.Split('\t')[1], 16));

        // Signals 1-31 only: glibc keeps its two internal real-time signals (32, 33) to itself.
        Assert.Equal(0UL, masks["SigBlk"] & 0x7FFF_FFFF);
        Assert.Equal(0UL, masks["SigIgn"] & 0x7FFF_FFFF);
    }

    [Fact(Timeout = 30_000)]
    public async Task Stop_sends_SIGTERM_first_and_SIGKILL_only_after_the_grace()
    {
        var obeys = await _launcher.StartAsync(new ChildSpec("sleep", ["600"]), CancellationToken.None);
        var ignores = await _launcher.StartAsync(new ChildSpec(TestChildProgram.Path, ["ignore-sigterm", "600"]), CancellationToken.None);
        // SIGTERM is ignored once the child says so ("ready"); before that it would end it at once.
        await ChildText.WaitForOutputAsync(ignores);

        await Task.Delay(500);
        var started = DateTime.UtcNow;

        var obeyed = await obeys.StopAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        var obeyedAfter = DateTime.UtcNow - started;
        var ignored = await ignores.StopAsync(TimeSpan.FromSeconds(1), CancellationToken.None);

        Assert.Equal("SIGTERM", obeyed.SignalName);
        Assert.True(obeyedAfter < TimeSpan.FromSeconds(5), "a child that obeys SIGTERM waited for the grace");
        Assert.Equal("SIGKILL", ignored.SignalName);
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(0.9), "SIGKILL came before the grace ended");
    }

    [Fact(Timeout = 30_000)]
    public async Task Signal_sends_one_signal_by_name()
    {
        var child = await _launcher.StartAsync(new ChildSpec("sh", ["-c", "trap 'echo hup; exit 3' HUP; echo ready; while :; do sleep 0.05; done"]), CancellationToken.None);
        // Signalled once the trap is set.
        await ChildText.WaitForOutputAsync(child);

        Assert.True(child.Signal("HUP"));
        var (outputs, exit) = await DrainAsync(child);

        Assert.Equal(3, exit.ExitCode);
        Assert.Equal("ready\nhup\n", Text(outputs, ChildStream.Stdout));
        Assert.False(child.Signal("SIGHUP"));
        Assert.Throws<PlatformNotSupportedException>(() => child.Signal("SIGNOPE"));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_job_that_gets_an_ended_jobs_cgroup_is_out_of_reach_of_the_ended_job()
    {
        Assert.Contains("cgroups", _launcher.TreeTracking);
        // A job that first reads a program's files keeps their page cache charged to its folder,
        // which is then not reused (Cgroups.TryKeep). A small program, run once first, leaves
        // nothing: the test child (a .NET program) faulted in pages of its own on each run (its
        // sleep touched code that a first run's exit had not), and failed CI twice.
        await DrainAsync(await _launcher.StartAsync(new ChildSpec("sleep", ["0"]), CancellationToken.None));

        // Every job leaves some kernel memory charged to its folder, and it adds up in a folder
        // that is reused (a killed `exec sleep` left 143 KB each time, still there 0.35 s later),
        // so a folder that earlier jobs of this launcher used can rightly be refused: the reuse,
        // which the test is about, gets a few rounds (a fresh folder's first reuse passes).
        for (int round = 1; ; round++)
        {
            var ended = await _launcher.StartAsync(new ChildSpec("sleep", ["600"]), CancellationToken.None);
            string endedCgroup = TrackingCgroup(ended.Pid);
            await ended.KillAsync(CancellationToken.None);

            var next = await _launcher.StartAsync(new ChildSpec("sleep", ["600"]), CancellationToken.None);
            try
            {
                if (TrackingCgroup(next.Pid) != endedCgroup && round < ReuseRounds)
                {
                    continue;
                }

                Assert.Equal(endedCgroup, TrackingCgroup(next.Pid));
                Assert.False(ended.Signal("KILL"), "the ended job still signalled someone");
                Assert.False(await Processes.WaitGoneAsync(next.Pid, TimeSpan.FromMilliseconds(500)), "a signal to the ended job killed the job now in its cgroup");
                return;
            }
            finally
            {
                await next.KillAsync(CancellationToken.None);
            }
        }
    }

    private const int ReuseRounds = 5;

    // The job's folder in the hierarchy that tracks trees (v1 pids, or the v2 one).
    private static string TrackingCgroup(int pid)
    {
        var hierarchies = File.ReadAllLines($"/proc/{pid}/cgroup").Select(line => line.Split(':', 3)).ToList();
        return (hierarchies.FirstOrDefault(f => f[1].Split(',').Contains("pids")) ?? hierarchies.Single(f => f[0] == "0"))[2];
    }

    [Fact(Timeout = 30_000)]
    public async Task A_process_limit_stops_a_fork_bomb()
    {
        const string bomb = "i=0; while [ $i -lt 30 ]; do sleep 2 & i=$((i+1)); done; echo all-started";
        var limited = await _launcher.StartAsync(new ChildSpec("sh", ["-c", bomb], Limits: new ChildLimits(MaxProcesses: 10)), CancellationToken.None);
        var free = await _launcher.StartAsync(new ChildSpec("sh", ["-c", bomb]), CancellationToken.None);

        var (limitedOutput, limitedExit) = await DrainAsync(limited);
        var (freeOutput, freeExit) = await DrainAsync(free);

        Assert.Equal(0, freeExit.ExitCode);
        Assert.Equal("all-started\n", Text(freeOutput, ChildStream.Stdout));
        Assert.NotEqual(0, limitedExit.ExitCode);
        Assert.Contains("fork", Text(limitedOutput, ChildStream.Stderr), StringComparison.OrdinalIgnoreCase);
        Assert.Empty(Text(limitedOutput, ChildStream.Stdout));
    }

    private static async Task<(List<ChildOutput> Outputs, ChildExit Exit)> DrainAsync(IChild child)
    {
        var outputs = new List<ChildOutput>();
        await foreach (var output in child.Output.ReadAllAsync())
        {
            outputs.Add(output);
        }

        return (outputs, await child.Exited);
    }

    private static byte[] Bytes(List<ChildOutput> outputs, ChildStream stream) =>
        [.. outputs.Where(o => o.Stream == stream).SelectMany(o => o.Data)];

    private static string Text(List<ChildOutput> outputs, ChildStream stream) =>
        System.Text.Encoding.UTF8.GetString(Bytes(outputs, stream));

    private static string Lines(string prefix, int count) =>
        string.Concat(Enumerable.Range(0, count).Select(i => $"{prefix} {i}\n"));
}
