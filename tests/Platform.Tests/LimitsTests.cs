using System.Diagnostics;
using Jobs.TestSupport;

namespace Jobs.Platform.Tests;

/// <summary>Resource limits and isolation, measured on real cgroups and namespaces of this machine.</summary>
public sealed class LimitsTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly IChildLauncher _launcher = ChildLauncher.CreateForCurrentOS();
    private readonly List<IChildLauncher> _others = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        using var cleanup = new CancellationTokenSource(Patience);
        foreach (var launcher in _others.Append(_launcher))
        {
            await launcher.KillAllAsync(cleanup.Token);
        }
    }

    public void Dispose()
    {
        foreach (var launcher in _others.Append(_launcher))
        {
            (launcher as IDisposable)?.Dispose();
        }
    }

    [Needs("cgroup:cpu", Timeout = 30_000)]
    public async Task A_cpu_limit_holds_a_busy_loop_near_its_share()
    {
        var child = await StartAsync("while :; do :; done", new ChildLimits(CpuCores: 0.2));
        await Task.Delay(500);

        // CPU time of the looping shell over wall time, from /proc (clock ticks of 10 ms), in
        // windows of 3 s. Above the share fails at once: the limit broke. Below it, the machine
        // was busy (jobs weigh little against everything else: JobsCpuWeight), so the window is
        // taken again, three at most.
        var shares = new List<double>();
        try
        {
            while (shares.Count < 3 && (shares.Count == 0 || shares[^1] < 0.12))
            {
                long before = CpuTicks(child.Pid);
                var clock = Stopwatch.StartNew();
                await Task.Delay(TimeSpan.FromSeconds(3));
                shares.Add((CpuTicks(child.Pid) - before) / 100.0 / clock.Elapsed.TotalSeconds);
                Assert.True(shares[^1] <= 0.28, $"the loop used {shares[^1]:F3} cores under a limit of 0.2");
            }
        }
        finally
        {
            await child.KillAsync(CancellationToken.None);
        }

        Assert.InRange(shares[^1], 0.12, 0.28);
    }

    [Needs("cgroup:memory", Timeout = 30_000)]
    public async Task A_job_over_its_memory_limit_is_oom_killed_and_counted()
    {
        // dd fills a 256 MiB buffer, so it needs that much memory; the limit is 32 MiB.
        var over = await StartAsync("exec dd if=/dev/zero of=/dev/null bs=256M count=1", new ChildLimits(MemoryBytes: 32L << 20));
        var under = await StartAsync("exec dd if=/dev/zero of=/dev/null bs=1M count=1", new ChildLimits(MemoryBytes: 32L << 20));

        var overExit = await over.Exited.WaitAsync(Patience);
        var underExit = await under.Exited.WaitAsync(Patience);

        Assert.Equal("SIGKILL", overExit.SignalName);
        Assert.True(overExit.OomKills >= 1, $"OOM kills: {overExit.OomKills}");
        Assert.Equal(0, underExit.ExitCode);
        Assert.Equal(0, underExit.OomKills);
    }

    [Needs("cgroup:io", "disk", Timeout = 60_000)]
    public async Task Io_rate_limits_slow_direct_writes_and_reads_on_the_disk()
    {
        string disk = Machine.TempDisk()!;
        string file = Path.Combine(Path.GetTempPath(), $"jobs-io-limit-{Guid.NewGuid():N}");
        try
        {
            // 6 MiB around the page cache at 2 MiB/s takes about 3 s each way; unlimited, milliseconds.
            var limit = new[] { new DeviceRate(disk, 2L << 20) };
            var write = await TimeAsync($"exec dd if=/dev/zero of={file} bs=1M count=6 oflag=direct", new ChildLimits(WriteBytesPerSecond: limit));
            var read = await TimeAsync($"exec dd if={file} of=/dev/null bs=1M count=6 iflag=direct", new ChildLimits(ReadBytesPerSecond: limit));

            // The best of three: other tests' disk traffic (spools written back) can slow one read.
            var unlimited = TimeSpan.MaxValue;
            for (int i = 0; i < 3 && unlimited >= TimeSpan.FromSeconds(1.5); i++)
            {
                var once = await TimeAsync($"exec dd if={file} of=/dev/null bs=1M count=6 iflag=direct", null);
                unlimited = once < unlimited ? once : unlimited;
            }

            Assert.InRange(write.TotalSeconds, 2.0, 15.0);
            Assert.InRange(read.TotalSeconds, 2.0, 15.0);
            Assert.True(unlimited < TimeSpan.FromSeconds(1.5), $"unlimited read took {unlimited}");
        }
        finally
        {
            File.Delete(file);
        }
    }

    private async Task<TimeSpan> TimeAsync(string script, ChildLimits? limits)
    {
        var clock = Stopwatch.StartNew();
        var (output, exit) = await DrainAllAsync(await StartAsync(script, limits));
        Assert.True(exit.ExitCode == 0, output);
        return clock.Elapsed;
    }

    [Needs("cgroup:io", Timeout = 30_000)]
    public async Task A_rate_for_a_device_the_server_lacks_is_refused()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => StartAsync("true", new ChildLimits(WriteBytesPerSecond: [new DeviceRate("/dev/no-such-disk", 1 << 20)])));

        Assert.Contains("/dev/no-such-disk", error.Message, StringComparison.Ordinal);
    }

    [Needs("cgroup2-without:memory", Timeout = 30_000)]
    public async Task A_limit_whose_controller_the_machine_lacks_is_refused_and_nothing_runs()
    {
        // A real cgroup v2 hierarchy that does not offer the memory controller (on this machine the
        // hybrid layout's unified mount): trees are tracked there, memory limits cannot be enforced.
        var launcher = ChildLauncher.CreateForCurrentOS(new PlatformOptions { CgroupV2Root = Machine.CgroupV2MountWithout("memory") });
        _others.Add(launcher);
        string marker = Path.Combine(Path.GetTempPath(), $"jobs-limit-refused-{Guid.NewGuid():N}");

        var error = await Assert.ThrowsAsync<LimitUnavailableException>(() =>
            launcher.StartAsync(new ChildSpec("sh", ["-c", $"touch {marker}"], Limits: new ChildLimits(MemoryBytes: 64L << 20)), CancellationToken.None));
        var unlimited = await launcher.StartAsync(new ChildSpec("sh", ["-c", "exit 3"]), CancellationToken.None);

        Assert.Contains("memory controller is not available", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(marker));
        Assert.Equal(3, (await unlimited.Exited.WaitAsync(Patience)).ExitCode);
    }

    [Needs("isolation", Timeout = 30_000)]
    public async Task An_isolated_job_is_pid_1_sees_only_its_processes_and_has_only_loopback()
    {
        const string script = "echo pid=$$; echo procs=$(ls /proc | grep -c '^[0-9]*$'); tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; exit 7";
        var child = await _launcher.StartAsync(new ChildSpec("sh", ["-c", script], Isolate: true), CancellationToken.None);

        var (stdout, exit) = await DrainAsync(child);

        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("pid=1", lines[0]);
        // sh, and the ls and grep of the pipeline that counts.
        Assert.InRange(int.Parse(lines[1]["procs=".Length..], System.Globalization.CultureInfo.InvariantCulture), 1, 4);
        Assert.Equal(["lo"], lines[2..]);
        Assert.Equal(7, exit.ExitCode);
        Assert.False(Processes.IsAlive(child.Pid));
    }

    [Needs("isolation", Timeout = 30_000)]
    public async Task An_isolated_job_sees_only_loopback_in_sys_too_and_cannot_write_there()
    {
        // The host's /sys lists the host's interfaces (eth0 and others here); the job gets its own, read-only.
        const string script = "ls /sys/class/net; echo ---; grep ' /sys ' /proc/self/mountinfo; echo ---; touch /sys/jobs-test 2>&1; true";
        var child = await _launcher.StartAsync(new ChildSpec("sh", ["-c", script], Isolate: true), CancellationToken.None);

        var (output, exit) = await DrainAllAsync(child);

        string[] parts = output.Split("---\n");
        // The last mount on /sys is the one on top: "ID PARENT MAJ:MIN ROOT /sys OPTIONS [TAGS] - TYPE SOURCE SUPER".
        string[] sys = parts[1].Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Split(" - ");
        Assert.Equal("lo\n", parts[0]);
        Assert.Equal("sysfs", sys[1].Split(' ')[0]);
        Assert.Contains("ro", sys[0].Split(' ')[5].Split(','));
        Assert.Contains("Read-only file system", parts[2]);
        Assert.Equal(0, exit.ExitCode);
    }

    [Needs("isolation", Timeout = 30_000)]
    public async Task An_isolated_job_ends_as_its_pid_1_ends_and_takes_its_tree_along()
    {
        // The tree ignores SIGTERM, so it outlives the grace; SIGKILL then ends PID 1, and the kernel the rest of its namespace.
        var child = await _launcher.StartAsync(new ChildSpec("sh", ["-c", "trap '' TERM; sleep 600 & sleep 600 & echo ready; wait"], Isolate: true), CancellationToken.None);
        // Stopped once the trap is set and both sleeps are forked.
        await ChildText.WaitForOutputAsync(child);

        var sleepers = Descendants(child.Pid);

        var exit = await child.StopAsync(TimeSpan.FromMilliseconds(500), CancellationToken.None);

        Assert.Equal("SIGKILL", exit.SignalName);
        Assert.True(sleepers.Count >= 3, $"descendants: {sleepers.Count}");
        foreach (int pid in sleepers)
        {
            Assert.True(await Processes.WaitGoneAsync(pid, TimeSpan.FromSeconds(5)), $"process {pid} outlived the job");
        }
    }

    private async Task<IChild> StartAsync(string script, ChildLimits? limits) =>
        await _launcher.StartAsync(new ChildSpec("sh", ["-c", script], Limits: limits), CancellationToken.None);

    private static Task<(string Stdout, ChildExit Exit)> DrainAsync(IChild child) => ChildText.DrainAsync(child, Patience);

    private static Task<(string Stdout, ChildExit Exit)> DrainAllAsync(IChild child) => ChildText.DrainAsync(child, Patience, stderrToo: true);

    private static long CpuTicks(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // utime and stime: fields 14 and 15 of the line, 12 and 13 after the command name.
        return long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
    }

    // Every process below pid, from the parent links in /proc.
    private static List<int> Descendants(int pid)
    {
        var parents = new Dictionary<int, int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out int candidate))
            {
                try
                {
                    string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    parents[candidate] = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
                }
                catch (IOException)
                {
                    // Gone meanwhile.
                }
            }
        }

        var found = new List<int>();
        var frontier = new Queue<int>([pid]);
        while (frontier.TryDequeue(out int parent))
        {
            foreach (var (child, _) in parents.Where(p => p.Value == parent))
            {
                found.Add(child);
                frontier.Enqueue(child);
            }
        }

        return found;
    }
}
