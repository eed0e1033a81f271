using System.Text;
using System.Text.RegularExpressions;
using Jobs.Platform.Unix;
using Jobs.TestSupport;

namespace Jobs.Platform.Tests;

/// <summary>A job on a pseudo-terminal (<see cref="ChildSpec.Terminal"/>): its tty, size, signal keys, end of file and exit.</summary>
public sealed class TerminalTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly TerminalSize Size = new(24, 80);
    private readonly UnixChildLauncher _launcher = new();
    private readonly string _scratch = Directory.CreateTempSubdirectory("jobs-terminal-tests-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        using var cleanup = new CancellationTokenSource(Patience);
        await _launcher.KillAllAsync(cleanup.Token);
    }

    public void Dispose()
    {
        _launcher.Dispose();
        Directory.Delete(_scratch, recursive: true);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_terminal_job_has_a_pts_as_its_tty()
    {
        var screen = await StartAsync(new ChildSpec("tty", [], Terminal: Size));

        var (text, exit) = await screen.EndAsync();

        Assert.Equal(0, exit.ExitCode);
        Assert.Matches(new Regex(@"^/dev/pts/\d+\r\n$"), text);
        Assert.True(screen.Child.Input!.IsTerminal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Stty_size_prints_the_size_given()
    {
        var screen = await StartAsync(new ChildSpec("stty", ["size"], Terminal: new TerminalSize(33, 101)));

        var (text, exit) = await screen.EndAsync();

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal("33 101\r\n", text);
    }

    [Fact(Timeout = 60_000)]
    public async Task Resize_is_seen_by_the_job()
    {
        var screen = await StartAsync(new ChildSpec("sh", ["-c", "trap 'stty size' WINCH; echo ready; while :; do sleep 0.05; done"], Terminal: Size));
        await screen.WaitForAsync("ready\r\n");

        Assert.True(screen.Child.Input!.Resize(new TerminalSize(40, 132)));
        await screen.WaitForAsync("40 132\r\n");
        Assert.True(screen.Child.Input.Resize(new TerminalSize(50, 70)));
        await screen.WaitForAsync("50 70\r\n");

        Assert.False(screen.Child.Input.Resize(new TerminalSize(0, 80)));
        await screen.Child.KillAsync(CancellationToken.None);
        Assert.False(screen.Child.Input.Resize(Size));
    }

    [Fact(Timeout = 60_000)]
    public async Task Ctrl_C_ends_a_sleep_with_SIGINT()
    {
        var screen = await StartAsync(new ChildSpec("sleep", ["600"], Terminal: Size));
        await Task.Delay(300);

        Assert.True(screen.Child.Input!.TryWrite(new byte[] { 0x03 }));
        var (_, exit) = await screen.EndAsync();

        Assert.Equal("SIGINT", exit.SignalName);
    }

    [Fact(Timeout = 60_000)]
    public async Task Ctrl_C_reaches_a_trap_of_INT_in_sh()
    {
        var screen = await StartAsync(new ChildSpec("sh", ["-c", "trap 'echo got-int; exit 7' INT; echo ready; while :; do sleep 0.05; done"], Terminal: Size));
        await screen.WaitForAsync("ready\r\n");

        Assert.True(screen.Child.Input!.TryWrite(new byte[] { 0x03 }));
        var (text, exit) = await screen.EndAsync();

        Assert.Equal(7, exit.ExitCode);
        Assert.Contains("got-int\r\n", text);
    }

    [Fact(Timeout = 60_000)]
    public async Task Ctrl_backslash_ends_a_sleep_with_SIGQUIT()
    {
        // In the scratch folder: SIGQUIT may leave a core file in the working directory.
        var screen = await StartAsync(new ChildSpec("sleep", ["600"], WorkingDirectory: _scratch, Terminal: Size));
        await Task.Delay(300);

        Assert.True(screen.Child.Input!.TryWrite(new byte[] { 0x1c }));
        var (_, exit) = await screen.EndAsync();

        Assert.Equal("SIGQUIT", exit.SignalName);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_job_leads_its_session_and_is_the_terminals_foreground_group()
    {
        // /proc/PID/stat: pid (comm) state ppid pgrp session tty_nr tpgid ...
        var screen = await StartAsync(new ChildSpec("sh", ["-c", "echo $$; cut -d' ' -f5,6,8 /proc/$$/stat"], Terminal: Size));

        var (text, exit) = await screen.EndAsync();

        Assert.Equal(0, exit.ExitCode);
        string[] lines = text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        string pid = lines[0];
        Assert.Equal(screen.Child.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), pid);
        Assert.Equal($"{pid} {pid} {pid}", lines[1]);
    }

    [Fact(Timeout = 60_000)]
    public async Task Exit_codes_pass_through_a_terminal()
    {
        var screen = await StartAsync(new ChildSpec("sh", ["-c", "exit 3"], Terminal: Size));

        var (_, exit) = await screen.EndAsync();

        Assert.Equal(3, exit.ExitCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task The_last_output_of_a_terminal_job_that_writes_a_lot_and_exits_is_not_lost()
    {
        // No newline in it: the terminal's output processing (NL to CR NL) leaves every other byte as it is.
        byte[] data = StdinTests.RandomBytes(8 * 1024 * 1024);
        for (int i = 0; i < data.Length; i++)
        {
            if (data[i] == (byte)'\n')
            {
                data[i] = (byte)'n';
            }
        }

        string file = Path.Combine(_scratch, "eight-mib");
        await File.WriteAllBytesAsync(file, data);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var child = await _launcher.StartAsync(new ChildSpec("cat", [file], Terminal: Size), CancellationToken.None);

        var (bytes, exit) = await StdinTests.DrainAsync(child).WaitAsync(Patience);
        Console.WriteLine($"8 MiB out of a terminal: {clock.Elapsed.TotalMilliseconds:0} ms");

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal(data.Length, bytes.Length);
        Assert.True(data.AsSpan().SequenceEqual(bytes), "the terminal's output differs from what the job wrote");
    }

    [Fact(Timeout = 120_000)]
    public async Task A_terminal_job_that_does_not_read_makes_TryWrite_refuse_and_nothing_is_lost_once_it_reads()
    {
        // 2,000 lines of 80 bytes, typed while the job sleeps: the kernel's terminal buffers and the queue fill.
        string typed = string.Concat(Enumerable.Range(0, 2000).Select(i => $"{i,6} " + new string((char)('a' + (i % 26)), 72) + "\n"));
        byte[] data = Encoding.ASCII.GetBytes(typed);
        var screen = await StartAsync(new ChildSpec("sh", ["-c", "stty -echo; echo ready; sleep 4; exec cat"], Terminal: Size));
        await screen.WaitForAsync("ready\r\n");
        var input = screen.Child.Input!;

        int taken = 0;
        int mostWaiting = 0;
        while (taken < data.Length && input.TryWrite(data.AsMemory(taken, 80)))
        {
            taken += 80;
            mostWaiting = Math.Max(mostWaiting, ((TerminalInput)input).Waiting);
        }

        Assert.True(taken < data.Length, "the terminal took everything from a job that reads nothing");
        Assert.True(mostWaiting <= IChildInput.BufferLimit, $"{mostWaiting} bytes waited in the queue");
        Assert.Equal("ready\r\n", screen.Text);

        await StdinTests.WriteAllAsync(input, data.AsMemory(taken), 80, () => mostWaiting = Math.Max(mostWaiting, ((TerminalInput)input).Waiting));
        Assert.True(input.Complete());
        var (text, exit) = await screen.EndAsync();

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal("ready\r\n" + typed.Replace("\n", "\r\n", StringComparison.Ordinal), text);
        Assert.True(mostWaiting <= IChildInput.BufferLimit, $"{mostWaiting} bytes waited in the queue");
        Console.WriteLine($"a terminal took {taken} bytes from a job that reads nothing before the first refusal");
    }

    [Fact(Timeout = 60_000)]
    public async Task Kill_of_a_terminal_job_ends_a_background_job_in_another_process_group()
    {
        string pidFile = Path.Combine(_scratch, "background.pid");

        // Job control on (set -m, as an interactive shell has it): the background job gets a group of its own.
        var screen = await StartAsync(new ChildSpec("sh", ["-c", $"set -m; sleep 600 & echo $! > '{pidFile}'; wait"], Terminal: Size));
        int background = await Processes.ReadPidFileAsync(pidFile, Patience);
        try
        {
            Assert.NotEqual(screen.Child.Pid, ProcessGroupOf(background));

            await screen.Child.KillAsync(CancellationToken.None);

            Assert.True(await Processes.WaitGoneAsync(background, TimeSpan.FromSeconds(5)), "the background job outlived the kill");
        }
        finally
        {
            Processes.KillIfAlive(background);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Signal_reaches_a_terminal_job()
    {
        var screen = await StartAsync(new ChildSpec("sh", ["-c", "trap 'echo hup; exit 4' HUP; echo ready; while :; do sleep 0.05; done"], Terminal: Size));
        await screen.WaitForAsync("ready\r\n");

        Assert.True(screen.Child.Signal("HUP"));
        var (text, exit) = await screen.EndAsync();

        Assert.Equal(4, exit.ExitCode);
        Assert.Contains("hup\r\n", text);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_terminal_works_for_an_isolated_job()
    {
        var screen = await StartAsync(new ChildSpec(
            "sh", ["-c", "tty; stty size; echo $$; cut -d' ' -f5,6,8 /proc/1/stat; exit 5"], Isolate: true, Terminal: new TerminalSize(30, 90)));

        var (text, exit) = await screen.EndAsync();

        Assert.Equal(5, exit.ExitCode);
        Assert.Matches(new Regex(@"^/dev/pts/\d+\r\n30 90\r\n1\r\n1 1 1\r\n$"), text);
    }

    [Fact(Timeout = 60_000)]
    public async Task Complete_on_a_terminal_sends_end_of_file_and_cat_exits()
    {
        var screen = await StartAsync(new ChildSpec("cat", [], Terminal: Size));
        var input = screen.Child.Input!;

        Assert.True(input.TryWrite("hello\n"u8.ToArray()));
        await screen.WaitForAsync("hello\r\nhello\r\n");
        Assert.True(input.Complete());
        var (_, exit) = await screen.EndAsync();

        Assert.Equal(0, exit.ExitCode);
        Assert.True(input.IsClosed);
        Assert.False(input.TryWrite(new byte[] { 1 }));
        Assert.False(input.Complete());
    }

    [Fact(Timeout = 60_000)]
    public async Task End_of_file_is_the_character_the_job_set()
    {
        // stty eof ^A: a person's Ctrl+D would now be an ordinary character, and so is 0x04 here.
        var screen = await StartAsync(new ChildSpec("sh", ["-c", "stty eof '^A'; echo ready; exec cat"], Terminal: Size));
        await screen.WaitForAsync("ready\r\n");

        Assert.True(screen.Child.Input!.Complete());
        var (_, exit) = await screen.EndAsync();

        Assert.Equal(0, exit.ExitCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task An_invalid_terminal_size_is_refused_before_anything_starts()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _launcher.StartAsync(new ChildSpec("true", [], Terminal: new TerminalSize(0, 80)), CancellationToken.None));

        Assert.Equal(0, _launcher.Running);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Signal_reaches_a_terminal_job_where_no_cgroup_tracks_it(bool isolate)
    {
        // Not a cgroup v2 mount: this launcher tracks trees by process group only. An isolated job on
        // a terminal is then in no group the launcher signals: the shim's relay forwards to it.
        using var launcher = new UnixChildLauncher(new PlatformOptions { CgroupV2Root = _scratch });
        Assert.Contains("process groups only", launcher.TreeTracking);
        var screen = new Screen(await launcher.StartAsync(
            new ChildSpec("sh", ["-c", "trap 'echo hup; exit 4' HUP; echo ready; while :; do sleep 0.05; done"], Isolate: isolate, Terminal: Size),
            CancellationToken.None));
        try
        {
            await screen.WaitForAsync("ready\r\n");

            Assert.True(screen.Child.Signal("HUP"));
            var (text, exit) = await screen.EndAsync();

            Assert.Equal(4, exit.ExitCode);
            Assert.Contains("hup\r\n", text);
        }
        finally
        {
            using var cleanup = new CancellationTokenSource(Patience);
            await launcher.KillAllAsync(cleanup.Token);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Kill_of_an_isolated_terminal_job_where_no_cgroup_tracks_it_ends_the_job()
    {
        using var launcher = new UnixChildLauncher(new PlatformOptions { CgroupV2Root = _scratch });
        var screen = new Screen(await launcher.StartAsync(
            new ChildSpec("sh", ["-c", "echo ready; while :; do sleep 0.05; done"], Isolate: true, Terminal: Size), CancellationToken.None));
        await screen.WaitForAsync("ready\r\n");
        int job = Processes.ChildrenOf(screen.Child.Pid).Single().Pid;
        try
        {
            var exit = await screen.Child.KillAsync(CancellationToken.None).WaitAsync(Patience);

            Assert.Equal("SIGKILL", exit.SignalName);
            Assert.True(await Processes.WaitGoneAsync(job, TimeSpan.FromSeconds(5)), "the isolated job outlived the kill of its shim");
        }
        finally
        {
            Processes.KillIfAlive(job);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Ended_terminal_jobs_leave_no_terminal_or_thread_behind()
    {
        for (int i = 0; i < 5; i++)
        {
            var screen = await StartAsync(new ChildSpec("sh", ["-c", "exec cat"], Terminal: Size));
            Assert.True(screen.Child.Input!.TryWrite("x\n"u8.ToArray()));
            await screen.WaitForAsync("x\r\nx\r\n");
            await screen.Child.KillAsync(CancellationToken.None);
        }

        // Released within a poll's timeout of the end (the writer may be waiting in one).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((OpenMasters() > 0 || TerminalThreads() > 0) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Equal(0, OpenMasters());
        Assert.Equal(0, TerminalThreads());
    }

    [Fact(Timeout = 120_000)]
    public async Task A_key_comes_back_from_cat_on_a_raw_terminal_within_milliseconds()
    {
        // Raw and without echo: the byte that comes back is cat's, so it went all the way through the job.
        var child = await _launcher.StartAsync(new ChildSpec("sh", ["-c", "stty raw -echo; echo ready; exec cat"], Terminal: Size), CancellationToken.None);
        try
        {
            var (median, p99) = await RoundTripsAsync(child, "ready\n", 500);

            Console.WriteLine($"one key through a terminal and cat and back: median {median.TotalMilliseconds:0.000} ms, p99 {p99.TotalMilliseconds:0.000} ms");
            Assert.True(median < TimeSpan.FromMilliseconds(20), $"median {median.TotalMilliseconds} ms");
            // Below the terminal threads' 200 ms poll: no key waits for one.
            Assert.True(p99 < TimeSpan.FromMilliseconds(200), $"p99 {p99.TotalMilliseconds} ms");
        }
        finally
        {
            await child.KillAsync(CancellationToken.None);
        }
    }

    // Writes one byte at a time and waits for it to come back; the median and 99th percentile of the round trips.
    internal static async Task<(TimeSpan Median, TimeSpan P99)> RoundTripsAsync(IChild child, string ready, int count)
    {
        using var timeout = new CancellationTokenSource(Patience);
        var seen = new List<byte>();
        while (!Encoding.UTF8.GetString([.. seen]).Contains(ready, StringComparison.Ordinal))
        {
            seen.AddRange((await child.Output.ReadAsync(timeout.Token)).Data);
        }

        var trips = new List<TimeSpan>();
        for (int i = 0; i < count; i++)
        {
            byte key = (byte)('a' + (i % 26));
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            Assert.True(child.Input!.TryWrite(new[] { key }));
            var back = await child.Output.ReadAsync(timeout.Token);
            trips.Add(System.Diagnostics.Stopwatch.GetElapsedTime(started));
            Assert.Equal(new[] { key }, back.Data);
        }

        trips.Sort();
        return (trips[count / 2], trips[(int)(count * 0.99)]);
    }

    private static int OpenMasters() => Directory.EnumerateFileSystemEntries("/proc/self/fd")
        .Count(fd => UnlessGone(() => new FileInfo(fd).LinkTarget) is "/dev/ptmx" or "/dev/pts/ptmx");

    // Thread names as the kernel keeps them: the first 15 bytes.
    private static int TerminalThreads() => Directory.EnumerateDirectories("/proc/self/task")
        .Count(task => UnlessGone(() => File.ReadAllText(Path.Combine(task, "comm")))?.StartsWith("jobs-terminal", StringComparison.Ordinal) == true);

    // A descriptor closed or a thread ended between the listing of /proc/self and this read is
    // gone: null, so it is not counted.
    private static string? UnlessGone(Func<string?> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is DirectoryNotFoundException or FileNotFoundException)
        {
            return null;
        }
    }

    private async Task<Screen> StartAsync(ChildSpec spec) => new(await _launcher.StartAsync(spec, CancellationToken.None));

    private static int ProcessGroupOf(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture);
    }

    // What the job wrote to its terminal so far, read as it comes.
    private sealed class Screen
    {
        private readonly Lock _gate = new();
        private readonly List<byte> _bytes = [];
        private readonly Task<ChildExit> _ended;

        public Screen(IChild child)
        {
            Child = child;
            _ended = ReadAsync();
        }

        public IChild Child { get; }

        public string Text
        {
            get
            {
                lock (_gate)
                {
                    return Encoding.UTF8.GetString([.. _bytes]);
                }
            }
        }

        public async Task WaitForAsync(string expected)
        {
            var deadline = DateTime.UtcNow + Patience;
            while (!Text.Contains(expected, StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < deadline, $"'{expected}' did not appear; the screen holds '{Text}'");
                Assert.False(_ended.IsCompleted, $"the job ended before '{expected}' appeared; the screen holds '{Text}'");
                await Task.Delay(20);
            }
        }

        public async Task<(string Text, ChildExit Exit)> EndAsync()
        {
            var exit = await _ended.WaitAsync(Patience);
            return (Text, exit);
        }

        private async Task<ChildExit> ReadAsync()
        {
            await Task.Yield();
            await foreach (var output in Child.Output.ReadAllAsync())
            {
                Assert.Equal(ChildStream.Stdout, output.Stream);
                lock (_gate)
                {
                    _bytes.AddRange(output.Data);
                }
            }

            return await Child.Exited;
        }
    }
}
