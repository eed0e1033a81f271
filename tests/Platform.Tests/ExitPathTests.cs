using System.Diagnostics;
using Jobs.Platform.Unix;
using Jobs.TestSupport;

namespace Jobs.Platform.Tests;

/// <summary>A start that goes wrong between spawn and exec, and an exit path that fails.</summary>
public sealed class ExitPathTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly List<UnixChildLauncher> _launchers = [];

    public void Dispose()
    {
        foreach (var launcher in _launchers)
        {
            using var cleanup = new CancellationTokenSource(Patience);
            launcher.KillAllAsync(cleanup.Token).GetAwaiter().GetResult();
            launcher.Dispose();
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_shim_that_dies_before_exec_fails_the_start_at_once()
    {
        var launcher = Add(new UnixChildLauncher { ShimFault = "die-before-exec" });
        Assert.Contains("cgroups", launcher.TreeTracking);
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<ChildStartException>(() => launcher.StartAsync(new ChildSpec(TestChildProgram.Path, ["echo", "never"]), CancellationToken.None));

        Assert.Contains("ended before it started the program", error.Message);
        Assert.Contains("SIGKILL", error.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"the start failed only after {clock.Elapsed}");
        Assert.Equal(0, launcher.Running);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_shim_that_never_reports_is_killed_and_fails_the_start()
    {
        var launcher = Add(new UnixChildLauncher { ShimFault = "hang-before-exec", ShimReportTimeout = TimeSpan.FromSeconds(2) });
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<ChildStartException>(() => launcher.StartAsync(new ChildSpec(TestChildProgram.Path, ["echo", "never"]), CancellationToken.None));

        Assert.Contains("did not reach the program within 2 s", error.Message);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.9), $"the start gave up after {clock.Elapsed}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the start failed only after {clock.Elapsed}");
        Assert.Empty(HangingShims());
        Assert.Equal(0, launcher.Running);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_failing_exit_path_still_reports_the_exit_and_the_output()
    {
        var launcher = Add(new UnixChildLauncher { ExitFault = () => throw new IOException("injected: the cgroup cannot be read") });
        var child = await launcher.StartAsync(new ChildSpec(TestChildProgram.Path, ["echo", "still", "here"]), CancellationToken.None);

        var output = new List<byte>();
        await foreach (var chunk in child.Output.ReadAllAsync().WithCancellation(new CancellationTokenSource(Patience).Token))
        {
            output.AddRange(chunk.Data);
        }

        var exit = await child.Exited.WaitAsync(Patience);

        Assert.Equal(0, exit.ExitCode);
        Assert.Contains("injected: the cgroup cannot be read", exit.Problem);
        Assert.Equal("still here\n", System.Text.Encoding.UTF8.GetString([.. output]));
        Assert.False(Processes.IsAlive(child.Pid));
        Assert.Equal(0, launcher.Running);
    }

    [Fact(Timeout = 60_000)]
    public async Task Children_that_end_leave_the_table_of_running_children_and_running_ones_stay()
    {
        var launcher = Add(new UnixChildLauncher());
        var running = await launcher.StartAsync(new ChildSpec(TestChildProgram.Path, ["sleep", "600"]), CancellationToken.None);
        var quick = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => launcher.StartAsync(new ChildSpec("true", []), CancellationToken.None)));

        foreach (var child in quick)
        {
            await foreach (var _ in child.Output.ReadAllAsync())
            {
            }

            await child.Exited.WaitAsync(Patience);
        }

        Assert.Equal(1, launcher.Running);
        using var timeout = new CancellationTokenSource(Patience);
        await launcher.KillAllAsync(timeout.Token);
        Assert.True((await running.Exited).Killed);
        Assert.Equal(0, launcher.Running);
    }

    private UnixChildLauncher Add(UnixChildLauncher launcher)
    {
        _launchers.Add(launcher);
        return launcher;
    }

    // The shims this process started that still hang before exec.
    private static List<int> HangingShims()
    {
        var found = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid) || !Processes.IsAlive(pid))
            {
                continue;
            }

            try
            {
                string commandLine = File.ReadAllText(Path.Combine(dir, "cmdline"));
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                int parent = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
                if (parent == Environment.ProcessId && commandLine.Contains("hang-before-exec", StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
                // Gone meanwhile.
            }
        }

        return found;
    }
}
