using System.Text.RegularExpressions;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// <c>jobs run -it</c> and <c>jobs attach</c> as a person uses them, in a real terminal (tmux),
/// against the real one-command server: the job's terminal, its size, keys, exit codes, detach and
/// re-attach, a second attach that watches, full-screen programs and colours, and the local
/// terminal's settings afterwards.
/// </summary>
[Collection(ServerCollection.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed partial class CliTerminalTests(ServerFixture fixture) : IAsyncLifetime, IClassFixture<TmuxInstalled>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    // What stty -a shows of the three settings raw mode turns off, once they are on again.
    private const string SttyCheck = "stty -a | tr ' ' '\\n' | grep -x -e icanon -e echo -e isig | sort | tr '\\n' ,; echo";
    private const string Restored = "echo,icanon,isig,";

    private readonly List<string> _jobs = [];

    private string Endpoint => fixture.Server.Endpoint;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (string id in _jobs)
        {
            await Cli.RunAsync(Endpoint, "kill", id);
        }
    }

    [Fact(Timeout = 240_000)]
    public async Task A_shell_gets_a_pts_of_the_windows_size_follows_a_resize_and_its_exit_code_comes_back()
    {
        await using var terminal = await CliTerminal.StartAsync(Endpoint, columns: 100, rows: 30);

        await terminal.RunCliAsync($"run -it {terminal.JobShellOptions} -- sh");
        await terminal.Tmux.WaitForScreenAsync(CliTerminal.JobPrompt, Patience);
        await terminal.Tmux.SendLineAsync("tty");
        // The next line is typed once the shell prompts again: typed earlier, its echo comes
        // before the prompt, and the answer after the prompt on the same line (seen once in a run).
        await terminal.Tmux.WaitForScreenAsync(s => s.Contains("/dev/pts/", StringComparison.Ordinal) && s.TrimEnd().EndsWith(CliTerminal.JobPrompt, StringComparison.Ordinal), Patience, "the tty and a prompt after it");
        await terminal.Tmux.SendLineAsync("stty size");
        await terminal.Tmux.WaitForScreenAsync(s => s.Contains(Line("30 100"), StringComparison.Ordinal) && s.TrimEnd().EndsWith(CliTerminal.JobPrompt, StringComparison.Ordinal), Patience, "the size and a prompt after it");
        await terminal.Tmux.ResizeAsync(120, 40);
        await terminal.Tmux.SendLineAsync("stty size");
        await terminal.Tmux.WaitForScreenAsync(Line("40 120"), Patience);
        await terminal.Tmux.SendLineAsync("exit 3");
        int exit = await terminal.WaitForCliExitAsync(Patience);
        await terminal.Tmux.SendLineAsync(SttyCheck);
        await terminal.Tmux.WaitForScreenAsync(Restored, Patience);

        Assert.Equal(3, exit);
    }

    [Fact(Timeout = 120_000)]
    public async Task Ps_watch_redraws_the_table_in_place_every_second_and_Ctrl_C_gives_the_screen_back()
    {
        string id = (await Cli.RunAsync(Endpoint, "run", "--", "sleep", "600")).StdoutText.Trim();
        _jobs.Add(id);
        await using var terminal = await CliTerminal.StartAsync(Endpoint, columns: 200, rows: 30);
        await terminal.Tmux.SendLineAsync("echo before-the-watch");
        await terminal.Tmux.WaitForScreenAsync("before-the-watch", Patience);

        await terminal.RunCliAsync("ps --watch");
        string first = await terminal.Tmux.WaitForScreenAsync(s => s.StartsWith("Every 1s: jobs ps --watch", StringComparison.Ordinal) && s.Contains(id, StringComparison.Ordinal), Patience, "the first frame");
        string title = first.Split('\n')[0];
        string second = await terminal.Tmux.WaitForScreenAsync(s => s.Split('\n')[0] != title && s.Contains(id, StringComparison.Ordinal), Patience, "a second frame with another time");
        await terminal.Tmux.SendKeysAsync("C-c");
        int exit = await terminal.WaitForCliExitAsync(Patience);
        string after = await terminal.Tmux.CapturePaneAsync();

        // On the alternate screen, drawn from its top each time: one title, one header, the job's row.
        Assert.DoesNotContain("before-the-watch", first, StringComparison.Ordinal);
        foreach (string frame in new[] { first, second })
        {
            string[] lines = frame.Split('\n');
            Assert.Single(lines, l => l.StartsWith("Every 1s", StringComparison.Ordinal));
            Assert.Matches(@"^ID +STATE +EXIT +NODE +USER +CPU +MEMORY +STARTED +DURATION +COMMAND$", lines[2]);
            Assert.Single(lines, l => l.StartsWith(id, StringComparison.Ordinal));
        }

        Assert.Matches($@"(?m)^{id} +Running +- +\S+ +\S+ +[\d.]+s +[\d.]+[BKMG] ", second);
        // Ctrl+C ends it (status 0) and the screen from before comes back, the view gone.
        Assert.Equal(0, exit);
        Assert.Contains("before-the-watch", after, StringComparison.Ordinal);
        Assert.DoesNotContain("Every 1s", after, StringComparison.Ordinal);
    }

    [Fact(Timeout = 240_000)]
    public async Task Ctrl_C_stops_the_jobs_foreground_command_and_the_shell_goes_on()
    {
        await using var terminal = await CliTerminal.StartAsync(Endpoint);

        await terminal.RunCliAsync($"run -it {terminal.JobShellOptions} -- sh");
        await terminal.Tmux.WaitForScreenAsync(CliTerminal.JobPrompt, Patience);
        await terminal.Tmux.SendLineAsync("sleep 100");
        await terminal.Tmux.WaitForScreenAsync("job$ sleep 100", Patience);
        await terminal.Tmux.SendKeysAsync("C-c");
        await terminal.Tmux.WaitForScreenAsync(s => Prompts(s) >= 2, Patience, "a new prompt after Ctrl+C");
        await terminal.Tmux.SendLineAsync("echo alive-$((40 + 2))");
        await terminal.Tmux.WaitForScreenAsync("alive-42", Patience);
        await terminal.Tmux.SendLineAsync("exit");
        int exit = await terminal.WaitForCliExitAsync(Patience);

        Assert.Equal(0, exit);
    }

    [Fact(Timeout = 240_000)]
    public async Task The_detach_keys_leave_the_job_running_and_attach_joins_it_again()
    {
        await using var terminal = await CliTerminal.StartAsync(Endpoint);

        await terminal.RunCliAsync($"run -it {terminal.JobShellOptions} -- sh");
        await terminal.Tmux.WaitForScreenAsync(CliTerminal.JobPrompt, Patience);
        await terminal.Tmux.SendKeysAsync("C-p", "C-q");
        int detached = await terminal.WaitForCliExitAsync(Patience);
        string screen = await terminal.Tmux.CapturePaneAsync();
        string id = Remember(DetachedLine().Match(screen.Replace("\n", string.Empty, StringComparison.Ordinal)).Groups[1].Value);
        await terminal.Tmux.SendLineAsync(SttyCheck);
        await terminal.Tmux.WaitForScreenAsync(Restored, Patience);
        var ps = await Cli.RunAsync(Endpoint, "ps", id);
        await terminal.Tmux.SendLineAsync("clear");
        await terminal.RunCliAsync($"attach {id}");
        await WaitAttachedAsync(id);
        await terminal.Tmux.SendLineAsync("echo again-$((2 + 3))");
        await terminal.Tmux.WaitForScreenAsync("again-5", Patience);
        await terminal.Tmux.SendLineAsync("exit 4");
        int exit = await terminal.WaitForCliExitAsync(Patience);

        Assert.Equal(0, detached);
        Assert.StartsWith("Running", ps.StdoutText, StringComparison.Ordinal);
        Assert.Equal(4, exit);
    }

    [Fact(Timeout = 240_000)]
    public async Task A_second_attach_that_only_watches_sees_what_the_first_types()
    {
        var run = await Cli.RunAsync(Endpoint, "run", "-itd", "--", "sh");
        Assert.True(run.ExitCode == 0, run.ToString());
        string id = Remember(run.StdoutText.Trim());
        await using var typist = await CliTerminal.StartAsync(Endpoint);
        await using var watcher = await CliTerminal.StartAsync(Endpoint);

        await watcher.RunCliAsync($"attach --no-stdin {id}");
        await WaitAttachedAsync(id);
        await typist.RunCliAsync($"attach {id}");
        await WaitAttachedAsync(id, attaches: 2);
        await typist.Tmux.SendLineAsync("echo seen-by-$((6 * 7))");
        await typist.Tmux.WaitForScreenAsync("seen-by-42", Patience);
        await watcher.Tmux.WaitForScreenAsync("seen-by-42", Patience);
        await typist.Tmux.SendLineAsync("exit 9");

        Assert.Equal(9, await typist.WaitForCliExitAsync(Patience));
        Assert.Equal(9, await watcher.WaitForCliExitAsync(Patience));
    }

    [Fact(Timeout = 240_000)]
    public async Task Vi_opens_and_quits_and_colours_pass_through()
    {
        await using var terminal = await CliTerminal.StartAsync(Endpoint);

        await terminal.RunCliAsync($"run -it {terminal.JobShellOptions} -- sh");
        await terminal.Tmux.WaitForScreenAsync(CliTerminal.JobPrompt, Patience);
        await terminal.Tmux.SendLineAsync("printf '\\033[31mred\\033[0m\\n'");
        string coloured = await terminal.Tmux.WaitForScreenAsync("\u001b[31mred", Patience, escapes: true);
        await terminal.Tmux.SendLineAsync("clear; vi");
        await terminal.Tmux.WaitForScreenAsync(s => s.Split('\n').Count(line => line.StartsWith('~')) >= 10, Patience, "vi's empty buffer");
        await terminal.Tmux.SendTextAsync(":q");
        await terminal.Tmux.SendKeysAsync("Enter");
        await terminal.Tmux.WaitForScreenAsync(s => !s.Contains("\n~", StringComparison.Ordinal) && Prompts(s) >= 1, Patience, "the shell again after :q");
        await terminal.Tmux.SendLineAsync("exit");
        int exit = await terminal.WaitForCliExitAsync(Patience);

        Assert.Contains("\u001b[31mred", coloured, StringComparison.Ordinal);
        Assert.Equal(0, exit);
    }

    private static int Prompts(string screen) =>
        screen.Split('\n').Count(line => line.StartsWith(CliTerminal.JobPrompt, StringComparison.Ordinal));

    private static string Line(string text) => "\n" + text + "\n";

    // An attach shows nothing until the job writes: the server's audit log says when it is in.
    private async Task WaitAttachedAsync(string id, int attaches = 1)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (Regex.Count(fixture.Server.Log, $"audit call=Attach identity=client1 job={id} .*outcome=OK") < attaches)
        {
            if (started.Elapsed > Patience)
            {
                throw new TimeoutException($"no attach {attaches} of job {id} within {Patience}: {fixture.Server.LogTail}");
            }

            await Task.Delay(100);
        }
    }

    private string Remember(string id)
    {
        Assert.Matches("^[0-9a-f-]{36}$", id);
        _jobs.Add(id);
        return id;
    }

    [GeneratedRegex(@"jobs: detached from job ([0-9a-f-]{36}); it keeps running")]
    private static partial Regex DetachedLine();
}
