using Jobs.Protos;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// The CLI in a real terminal (tmux) against a fake server whose job echoes what it gets, like a
/// terminal with echo on: what exactly the keys become on the wire, which the real server would
/// hide behind the job's line discipline.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class CliTerminalFakeServerTests : IClassFixture<TmuxInstalled>
{
    private const string JobId = "01930000-0000-7000-8000-0000000000f1";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact(Timeout = 180_000)]
    public async Task Keys_go_to_the_job_as_bytes_and_the_detach_keys_leave_with_the_terminal_restored()
    {
        var fake = new FakeJobs { Status = new JobStatus { JobId = JobId, State = JobState.Running, Stdin = true, Terminal = true } };
        await using var server = await FakeJobsServer.StartAsync(fake);
        await using var terminal = await CliTerminal.StartAsync(server.Endpoint, columns: 100, rows: 30);

        await terminal.RunCliAsync("run -it -- sh");
        await WaitAsync(() => fake.AttachRequests.Any(r => r.ItemCase == AttachRequest.ItemOneofCase.Start), "the attach");
        await terminal.Tmux.SendTextAsync("hello-raw");
        await terminal.Tmux.WaitForScreenAsync("hello-raw", Patience);
        await terminal.Tmux.SendKeysAsync("C-c", "C-z", "C-\\", "C-p", "x");
        await WaitAsync(() => Typed(fake).EndsWith("\x03\x1a\x1c\x10x", StringComparison.Ordinal), "Ctrl+C, Ctrl+Z, Ctrl+\\ and a Ctrl+P that is no detach");
        await terminal.Tmux.ResizeAsync(120, 40);
        await WaitAsync(() => fake.AttachRequests.Any(r => r.Resize is { Rows: 40, Columns: 120 }), "the resize");
        await terminal.Tmux.SendKeysAsync("C-p", "C-q");
        int exit = await terminal.WaitForCliExitAsync(Patience);
        await terminal.Tmux.SendLineAsync("stty -a | tr ' ' '\\n' | grep -x -e icanon -e echo -e isig | sort | tr '\\n' ,; echo");
        string screen = await terminal.Tmux.WaitForScreenAsync("echo,icanon,isig,", Patience);

        Assert.Equal(0, exit);
        Assert.Contains($"jobs: detached from job {JobId}; it keeps running ('jobs attach {JobId}' joins it again)", screen.Replace("\n", string.Empty, StringComparison.Ordinal));
        Assert.True(fake.Runs.TryPeek(out var run));
        Assert.Equal(new TerminalSize { Rows = 30, Columns = 100 }, run.Terminal);
        Assert.Equal("hello-raw\x03\x1a\x1c\x10x", Typed(fake));
        Assert.Equal(AttachRequest.ItemOneofCase.Detach, fake.AttachRequests.Last().ItemCase);
        Assert.DoesNotContain(fake.AttachRequests, r => r.ItemCase == AttachRequest.ItemOneofCase.EndOfInput);
    }

    [Fact(Timeout = 180_000)]
    public async Task Custom_detach_keys_detach_and_the_default_ones_then_go_to_the_job()
    {
        var fake = new FakeJobs { Status = new JobStatus { JobId = JobId, State = JobState.Running, Stdin = true, Terminal = true } };
        await using var server = await FakeJobsServer.StartAsync(fake);
        await using var terminal = await CliTerminal.StartAsync(server.Endpoint);

        await terminal.RunCliAsync($"attach --detach-keys ctrl-a,d {JobId}");
        await WaitAsync(() => fake.AttachRequests.Any(r => r.ItemCase == AttachRequest.ItemOneofCase.Start), "the attach");
        await terminal.Tmux.SendKeysAsync("C-p", "C-q", "C-a", "C-a", "d");
        int exit = await terminal.WaitForCliExitAsync(Patience);

        Assert.Equal(0, exit);
        Assert.Equal("\x10\x11\x01", Typed(fake));
        Assert.Equal(new AttachStart { JobId = JobId, Stdin = true }, fake.AttachRequests.First().Start);
        // An attach gives the job's terminal this window's size.
        Assert.Contains(fake.AttachRequests, r => r.Resize is { Rows: 24, Columns: 80 });
    }

    [Theory(Timeout = 180_000)]
    [InlineData("TERM", 130)]
    [InlineData("HUP", 129)]
    public async Task A_signal_that_ends_the_CLI_leaves_the_terminal_restored(string name, int status)
    {
        var fake = new FakeJobs { Status = new JobStatus { JobId = JobId, State = JobState.Running, Stdin = true, Terminal = true } };
        await using var server = await FakeJobsServer.StartAsync(fake);
        await using var terminal = await CliTerminal.StartAsync(server.Endpoint);

        await terminal.RunCliAsync("run -it -- sh");
        await WaitAsync(() => fake.AttachRequests.Any(r => r.ItemCase == AttachRequest.ItemOneofCase.Start), "the attach");
        int shell = await terminal.Tmux.PanePidAsync();
        var cli = Processes.ChildrenOf(shell).Single(child => child.CommandLine.Contains("jobs.dll", StringComparison.Ordinal));
        using (var kill = System.Diagnostics.Process.Start("kill", ["-" + name, cli.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
            Assert.Equal(0, kill.ExitCode);
        }

        int exit = await terminal.WaitForCliExitAsync(Patience);
        await terminal.Tmux.SendLineAsync("stty -a | tr ' ' '\\n' | grep -x -e icanon -e echo -e isig | sort | tr '\\n' ,; echo");
        await terminal.Tmux.WaitForScreenAsync("echo,icanon,isig,", Patience);

        Assert.True(exit == status, $"SIG{name}: exit {exit}, not {status}");
    }

    private static string Typed(FakeJobs fake) =>
        string.Concat(fake.AttachRequests.Where(r => r.ItemCase == AttachRequest.ItemOneofCase.Input).Select(r => r.Input.ToStringUtf8()));

    private static async Task WaitAsync(Func<bool> done, string what)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (!done())
        {
            await Task.Delay(50, timeout.Token).ContinueWith(t => t.IsCanceled ? throw new TimeoutException($"no {what} within {Patience}") : t, TaskScheduler.Default).Unwrap();
        }
    }
}
