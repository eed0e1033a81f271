using Jobs.Platform.Unix;
using Jobs.TestChild;
using Jobs.TestSupport;

namespace Jobs.Platform.Tests;

/// <summary>
/// The last output of a job that exits while its consumer is behind: what is still in its sockets,
/// and what a reader holds, when the main process is gone.
/// </summary>
public sealed class OutputTailTests : IDisposable
{
    private const long FloodBytes = 64L * 1024 * 1024;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    // Longer than any fixed wait after the exit: a consumer this far behind must still get every byte.
    private static readonly TimeSpan PauseAtExit = TimeSpan.FromSeconds(5);

    private readonly string _scratch = Directory.CreateTempSubdirectory("jobs-output-tail-").FullName;
    private readonly List<UnixChildLauncher> _launchers = [];

    public void Dispose()
    {
        foreach (var launcher in _launchers)
        {
            using var cleanup = new CancellationTokenSource(Patience);
            launcher.KillAllAsync(cleanup.Token).GetAwaiter().GetResult();
            launcher.Dispose();
        }

        Directory.Delete(_scratch, recursive: true);
    }

    [Fact(Timeout = 240_000)]
    public async Task Many_jobs_that_exit_at_once_deliver_every_byte_to_a_consumer_that_is_behind_on_a_busy_machine()
    {
        var launcher = Launcher(withCgroups: true);
        Assert.Contains("cgroups", launcher.TreeTracking);

        await AllBytesArriveAsync(launcher, jobs: 12);
    }

    [Fact(Timeout = 240_000)]
    public async Task Without_job_cgroups_a_read_already_made_is_never_dropped()
    {
        var launcher = Launcher(withCgroups: false);
        Assert.StartsWith("process groups only", launcher.TreeTracking);

        await AllBytesArriveAsync(launcher, jobs: 4);
    }

    [Fact(Timeout = 120_000)]
    public async Task Without_job_cgroups_a_descendant_holding_the_output_open_does_not_keep_the_job_from_ending()
    {
        var launcher = Launcher(withCgroups: false);
        string pidFile = Path.Combine(_scratch, "escaped.pid");
        var child = await launcher.StartAsync(new ChildSpec("sh", ["-c", EscapeThenExit(pidFile)]), CancellationToken.None);
        int escaped = await Processes.ReadPidFileAsync(pidFile, Patience);
        try
        {
            var text = new List<byte>();
            await foreach (var output in child.Output.ReadAllAsync().WithCancellation(new CancellationTokenSource(Patience).Token))
            {
                text.AddRange(output.Data);
            }

            var exit = await child.Exited.WaitAsync(Patience);

            Assert.Equal(0, exit.ExitCode);
            Assert.Equal("done\n", System.Text.Encoding.UTF8.GetString([.. text]));
            Assert.True(Processes.IsAlive(escaped), "the test did not hold the socket open: the descendant died");
        }
        finally
        {
            Processes.KillIfAlive(escaped);
        }
    }

    // The descendant is in a session of its own (its session id is its pid) before the job exits,
    // so that the sweep of the job's process group cannot reach it.
    private static string EscapeThenExit(string pidFile) =>
        $"'{TestChildProgram.Path}' sleep-setsid 600 & p=$!; " +
        "until [ \"$(cut -d' ' -f6 /proc/$p/stat)\" = \"$p\" ]; do sleep 0.05; done; " +
        $"echo $p > '{pidFile}'; echo done";

    private UnixChildLauncher Launcher(bool withCgroups)
    {
        // A folder that is not a cgroup v2 mount leaves the launcher with process groups only.
        var launcher = new UnixChildLauncher(withCgroups ? null : new PlatformOptions { CgroupV2Root = _scratch });
        _launchers.Add(launcher);
        return launcher;
    }

    private static async Task AllBytesArriveAsync(IChildLauncher launcher, int jobs)
    {
        // The machine busy with more runnable threads than cores, beside whatever else runs here.
        var burners = new List<IChild>();
        for (int i = 0; i < Environment.ProcessorCount; i++)
        {
            burners.Add(await launcher.StartAsync(new ChildSpec(TestChildProgram.Path, ["spin", "600"]), CancellationToken.None));
        }

        try
        {
            var floods = new List<IChild>();
            for (int i = 0; i < jobs; i++)
            {
                floods.Add(await launcher.StartAsync(new ChildSpec(TestChildProgram.Path, ["flood", FloodBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)]), CancellationToken.None));
            }

            var results = await Task.WhenAll(floods.Select(ConsumeBehindAsync));

            foreach (var (stdout, stderr, paused, exit) in results)
            {
                Assert.True(paused, "the consumer never saw the job exit while output was left: the test proves nothing");
                Assert.Equal(0, exit.ExitCode);
                Assert.Null(exit.Problem);
                Assert.Equal(0, stderr);
                Assert.Equal(FloodBytes, stdout);
            }
        }
        finally
        {
            foreach (var burner in burners)
            {
                await burner.KillAsync(CancellationToken.None);
            }
        }
    }

    // Behind the writer on purpose: an item is taken only once the readers have filled the channel
    // (so a reader holds a read it cannot hand over, and the sockets hold more), until the job has
    // exited; then nothing is taken for a while. Every byte is checked against the pattern.
    private static async Task<(long Stdout, long Stderr, bool Paused, ChildExit Exit)> ConsumeBehindAsync(IChild child)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(200));
        long stdout = 0;
        long stderr = 0;
        bool exited = false;
        bool paused = false;
        var expected = new byte[128 * 1024];
        var reader = child.Output;
        while (await reader.WaitToReadAsync(timeout.Token))
        {
            while (!exited && reader.Count < UnixChild.Capacity && Processes.IsAlive(child.Pid))
            {
                await Task.Delay(1, timeout.Token);
            }

            if (!exited && !Processes.IsAlive(child.Pid))
            {
                exited = true;
                paused = reader.Count > 0;
                await Task.Delay(PauseAtExit, timeout.Token);
            }

            if (!reader.TryRead(out var output))
            {
                continue;
            }

            if (output.Stream == ChildStream.Stderr)
            {
                stderr += output.Data.Length;
                continue;
            }

            var want = expected.AsSpan(0, Math.Min(expected.Length, output.Data.Length));
            for (int at = 0; at < output.Data.Length; at += want.Length)
            {
                var got = output.Data.AsSpan(at, Math.Min(want.Length, output.Data.Length - at));
                Pattern.Fill(stdout + at, want[..got.Length]);
                if (!got.SequenceEqual(want[..got.Length]))
                {
                    Assert.Fail($"job {child.Pid}: the bytes at offset {stdout + at} are not the ones written");
                }
            }

            stdout += output.Data.Length;
        }

        return (stdout, stderr, paused, await child.Exited.WaitAsync(timeout.Token));
    }
}
