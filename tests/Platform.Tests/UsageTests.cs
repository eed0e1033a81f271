using Jobs.Platform.Unix;
using Jobs.TestSupport;

namespace Jobs.Platform.Tests;

/// <summary>What a job's tree uses, read from its cgroups on this machine.</summary>
public sealed class UsageTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    // Burns CPU in the shell itself until its own user time (field 14 of /proc/PID/stat, in clock
    // ticks of 10 ms) reaches $1 ticks: the same CPU time however busy the machine is.
    internal const string Burn = "burn() { t=$1; while :; do n=0; while [ $n -lt 20000 ]; do n=$((n+1)); done; read -r l < /proc/$$/stat; set -- $l; [ ${14} -ge $t ] && break; done; }; ";

    private readonly UnixChildLauncher _launcher = new();

    public void Dispose()
    {
        using var cleanup = new CancellationTokenSource(Patience);
        _launcher.KillAllAsync(cleanup.Token).GetAwaiter().GetResult();
        _launcher.Dispose();
    }

    [Needs("root", "cgroup:memory", "cgroup:pids", Timeout = 60_000)]
    public async Task A_running_tree_shows_its_cpu_time_memory_and_tasks_and_its_totals_stay_after_the_end()
    {
        string marker = Path.Combine(Path.GetTempPath(), $"jobs-usage-{Guid.NewGuid():N}");
        // 48 MiB held by tail (a line without end is kept whole), then 1 s of CPU, then a mark and two sleeps.
        var child = await _launcher.StartAsync(
            new ChildSpec("sh", ["-c", Burn + $"head -c 48M /dev/zero | tail > /dev/null; burn 100; sleep 600 & touch {marker}; sleep 600"]),
            CancellationToken.None);
        try
        {
            var deadline = DateTime.UtcNow + Patience;
            while (!File.Exists(marker) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            Assert.True(File.Exists(marker), "the job never reached its sleeps");
            var running = child.Usage();
            var exit = await child.KillAsync(CancellationToken.None).WaitAsync(Patience);

            Assert.NotNull(running);
            Assert.InRange(running.CpuTime!.Value.TotalSeconds, 1.0, 3.0);
            Assert.InRange(running.MemoryPeakBytes!.Value, 48L << 20, 80L << 20);
            // The shell and its two sleeps, each a task; their memory is small.
            Assert.Equal(3, running.Tasks);
            Assert.InRange(running.MemoryBytes!.Value, 1, 16L << 20);
            Assert.NotNull(running.IoReadBytes);
            Assert.NotNull(running.IoWriteBytes);

            var total = Assert.IsType<ChildUsage>(exit.Usage);
            Assert.InRange(total.CpuTime!.Value.TotalSeconds, running.CpuTime.Value.TotalSeconds, 3.5);
            Assert.Equal(running.MemoryPeakBytes, total.MemoryPeakBytes);
            Assert.Null(total.MemoryBytes);
            Assert.Null(total.Tasks);
            Assert.Null(child.Usage());
        }
        finally
        {
            File.Delete(marker);
        }
    }

    [Needs("root", "cgroup:memory", "cgroup:pids", Timeout = 60_000)]
    public async Task A_job_in_the_reused_folders_of_an_ended_one_shows_nothing_of_it()
    {
        Assert.False(_launcher.Cgroups!.V2, "cgroup v2 folders are never reused: the test proves nothing there");
        // The programs' files into the page cache first: the job that reads them first keeps them
        // charged to its folder, which is then not reused (Cgroups.TryKeep).
        await ChildText.DrainAsync(await _launcher.StartAsync(
            new ChildSpec("sh", ["-c", "head -c 1 /dev/zero | tail > /dev/null; sleep 0"]), CancellationToken.None), Patience);
        // Every job leaves some kernel memory charged to its folder, and it adds up in a folder
        // that is reused (a killed `exec sleep` left 143 KB each time, still there 0.35 s later),
        // so a folder that earlier jobs of this launcher used can rightly be refused: the reuse,
        // which the test is about, gets a few rounds (a fresh folder's first reuse passes).
        for (int round = 1; ; round++)
        {
            var first = (UnixChild)await _launcher.StartAsync(
                new ChildSpec("sh", ["-c", Burn + "head -c 32M /dev/zero | tail > /dev/null; burn 50"], Limits: new ChildLimits(MaxProcesses: 20, CpuCores: 1.5)),
                CancellationToken.None);
            var folders = first.Cgroup!.Folders;
            var firstEnd = await first.Exited.WaitAsync(Patience);

            var second = (UnixChild)await _launcher.StartAsync(new ChildSpec("sleep", ["600"]), CancellationToken.None);
            var reused = second.Cgroup!;
            var usage = second.Usage();
            string pidsMax = File.ReadAllText(Path.Combine(reused.Tracking, "pids.max")).Trim();
            string cpuQuota = File.ReadAllText(Path.Combine(reused.Of("cpu")!, "cpu.cfs_quota_us")).Trim();
            await second.KillAsync(CancellationToken.None).WaitAsync(Patience);
            if (!folders.SequenceEqual(reused.Folders) && round < ReuseRounds)
            {
                continue;
            }

            Assert.Equal(0, firstEnd.ExitCode);
            Assert.True(firstEnd.Usage!.CpuTime!.Value.TotalSeconds >= 0.5, $"{firstEnd.Usage}");
            Assert.Equal(folders, reused.Folders);
            Assert.NotNull(usage);
            Assert.InRange(usage.CpuTime!.Value.TotalSeconds, 0, 0.2);
            Assert.InRange(usage.MemoryPeakBytes!.Value, 1, 8L << 20);
            // Its limits are its own: none asked for, none left from the job before.
            Assert.Equal(("max", "-1"), (pidsMax, cpuQuota));
            return;
        }
    }

    private const int ReuseRounds = 5;
}
