using System.Globalization;
using System.Reflection;
using System.Runtime.Versioning;
using Jobs.TestChild;

namespace Jobs.Platform.Contract;

/// <summary>Marks a method of <see cref="ChildContract"/> as one check of the contract.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ContractAttribute : Attribute
{
    /// <summary>Set for a check of behaviour only one OS has (such as a limit's semantics): <c>windows</c> or <c>linux</c>.</summary>
    public string? Only { get; init; }

    /// <summary>Why Wine cannot run this check (a Windows feature it does not implement); null when it can.</summary>
    public string? NotUnderWine { get; init; }
}

/// <summary>What a contract check gets: the launcher under test, how to run the test child, and a scratch folder.</summary>
/// <param name="Launcher">The implementation under test.</param>
/// <param name="ChildPath">The test child program.</param>
/// <param name="ChildPrefix">Arguments before the test child's mode (the harness hosts the child itself).</param>
/// <param name="Scratch">A folder of this check's own.</param>
public sealed record ContractContext(IChildLauncher Launcher, string ChildPath, string[] ChildPrefix, string Scratch)
{
    /// <summary>A spec that runs the test child in a mode.</summary>
    public ChildSpec Child(params string[] mode) => new(ChildPath, [.. ChildPrefix, .. mode]);
}

/// <summary>
/// What every child-process implementation must do, checked with real processes: the same checks
/// run against the Unix launcher (xunit) and the Win32 launcher (under Wine, by the harness).
/// </summary>
public static class ChildContract
{
    private const string StdHandlesUnderWine = "Wine 8 does not give a pseudoconsole's child its console as standard handles (measured: they stay NULL or INVALID_HANDLE_VALUE as passed, while CONOUT$ and CONIN$ work)";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    /// <summary>The checks for the OS this runs on, by name, as delegates (the harness must not use reflection invoke under Wine).</summary>
    /// <remarks>
    /// The attributes are read as data, never constructed: setting their properties is a reflection
    /// invoke, which after a few calls emits dynamic methods whose finalizers crash the CLR under
    /// Wine 8 (measured: "Internal CLR error" in <c>DynamicResolver.DestroyScout.Finalize</c> once
    /// the checks for a terminal added more such attributes).
    /// </remarks>
    public static IReadOnlyList<(string Name, Func<ContractContext, Task> Check, string? NotUnderWine)> ForThisOS { get; } =
        [.. typeof(ChildContract).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Select(m => (Method: m, Contract: m.GetCustomAttributesData().SingleOrDefault(a => a.AttributeType == typeof(ContractAttribute))))
            .Where(m => m.Contract is { } contract && (Named(contract, nameof(ContractAttribute.Only)) is not { } only || OperatingSystem.IsOSPlatform(only)))
            .OrderBy(m => m.Method.Name, StringComparer.Ordinal)
            .Select(m => (m.Method.Name, m.Method.CreateDelegate<Func<ContractContext, Task>>(), Named(m.Contract!, nameof(ContractAttribute.NotUnderWine))))];

    [Contract]
    public static async Task Exit_code_is_reported(ContractContext c)
    {
        var (_, _, exit) = await RunAsync(c, c.Child("exit", "42"));

        Check.Equal(42, exit.ExitCode, "exit code");
        Check.True(!exit.Killed, "an exit is not a kill");
    }

    [Contract]
    public static async Task Stdout_and_stderr_arrive_separately_and_exactly(ContractContext c)
    {
        var (stdout, stderr, exit) = await RunAsync(c, c.Child("interleave", "50"));

        Check.Equal(0, exit.ExitCode, "exit code");
        Check.Equal(Lines("out", 50), Text(stdout), "stdout");
        Check.Equal(Lines("err", 50), Text(stderr), "stderr");
    }

    [Contract]
    public static async Task Large_output_arrives_byte_exact_without_deadlock(ContractContext c)
    {
        const int size = (32 * 1024 * 1024) + 12345;
        var (stdout, _, exit) = await RunAsync(c, c.Child("flood", size.ToString(CultureInfo.InvariantCulture), "10000"));

        var expected = new byte[size];
        Pattern.Fill(0, expected);
        Check.Equal(0, exit.ExitCode, "exit code");
        Check.Equal(size, stdout.Length, "stdout length");
        Check.True(expected.AsSpan().SequenceEqual(stdout), "stdout differs from the pattern");
    }

    [Contract]
    public static async Task Binary_output_keeps_every_byte_value(ContractContext c)
    {
        var (stdout, _, _) = await RunAsync(c, c.Child("binary", "3"));

        Check.True(Enumerable.Range(0, 3 * 256).Select(i => (byte)(i % 256)).SequenceEqual(stdout), "stdout differs from 0..255 three times");
    }

    [Contract]
    public static async Task Arguments_arrive_unchanged(ContractContext c)
    {
        // Spaces, empty, quotes and backslashes in every position the Windows quoting rules treat specially.
        string[] args = ["a b", "", "c\"d", "-x", "ünï", "$HOME", "*", @"back\slash", @"trailing\", @"two\\", "\"quoted\"", @"\""", "tab\there", "a\\\\\"b"];
        var (stdout, _, _) = await RunAsync(c, c.Child(["args", .. args]));

        Check.Equal(string.Concat(args.Select(a => a + "\n")), Text(stdout), "arguments as the child saw them");
    }

    [Contract]
    public static async Task Working_directory_is_applied(ContractContext c)
    {
        var (stdout, _, _) = await RunAsync(c, c.Child("pwd") with { WorkingDirectory = c.Scratch });

        Check.Equal(Path.GetFullPath(c.Scratch).TrimEnd(Path.DirectorySeparatorChar), Text(stdout).TrimEnd('\n').TrimEnd(Path.DirectorySeparatorChar), "working directory");
    }

    [Contract]
    public static async Task Environment_variables_are_added_to_the_base(ContractContext c)
    {
        var spec = c.Child("env", "JOBS_TEST_VALUE") with { Environment = new Dictionary<string, string> { ["JOBS_TEST_VALUE"] = "a b=c" } };
        var (stdout, _, _) = await RunAsync(c, spec);
        var (path, _, _) = await RunAsync(c, c.Child("env", "PATH"));

        Check.Equal("a b=c\n", Text(stdout), "the added variable");
        Check.Equal(Environment.GetEnvironmentVariable("PATH") + "\n", Text(path), "PATH of the base, the server's");
    }

    [Contract]
    public static async Task The_servers_own_variables_do_not_reach_the_child(ContractContext c)
    {
        // A name of this check's own: other checks in this process see the server's environment too.
        string name = $"JOBS_CONTRACT_SECRET_{Guid.NewGuid():N}";
        Environment.SetEnvironmentVariable(name, "secret");
        try
        {
            var (stdout, _, exit) = await RunAsync(c, c.Child("env", name));
            var (given, _, _) = await RunAsync(c, c.Child("env", name) with { Environment = new Dictionary<string, string> { [name] = "given" } });

            Check.Equal(string.Empty, Text(stdout), "what the child saw of the server's variable");
            Check.Equal(3, exit.ExitCode, "the test child's exit code for an unset variable");
            Check.Equal("given\n", Text(given), "the same name set by the spec");
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [Contract]
    public static async Task A_missing_program_fails_to_start(ContractContext c)
    {
        var error = await Check.ThrowsAsync<ChildStartException>(
            () => c.Launcher.StartAsync(new ChildSpec("jobs-no-such-program", []), CancellationToken.None), "starting a missing program");

        Check.True(error.ErrorNumber != 0, "the OS error number is kept");
    }

    [Contract]
    public static async Task Kill_ends_the_child_and_its_grandchildren(ContractContext c)
    {
        string pidFile = Path.Combine(c.Scratch, "grandchild.pid");
        var child = await c.Launcher.StartAsync(c.Child("spawn-grandchild", pidFile), CancellationToken.None);
        int grandchild = await ReadPidFileAsync(pidFile);

        var exit = await child.KillAsync(CancellationToken.None).WaitAsync(Patience);

        Check.True(exit.Killed, "a killed child is reported killed");
        Check.True(!ProcessTable.Exists(child.Pid), "the child outlived kill");
        Check.True(!ProcessTable.Exists(grandchild), "the grandchild outlived kill");
    }

    [Contract]
    public static async Task Stop_ends_a_child_that_does_not_stop_by_itself(ContractContext c)
    {
        var child = await c.Launcher.StartAsync(c.Child("sleep", "600"), CancellationToken.None);

        var exit = await child.StopAsync(TimeSpan.FromMilliseconds(300), CancellationToken.None).WaitAsync(Patience);

        Check.True(exit.Killed, "stopped after the grace");
        Check.True(!ProcessTable.Exists(child.Pid), "the child outlived stop");
    }

    [Contract]
    public static async Task Kill_all_stops_every_running_child(ContractContext c)
    {
        var first = await c.Launcher.StartAsync(c.Child("sleep", "600"), CancellationToken.None);
        var second = await c.Launcher.StartAsync(c.Child("sleep", "600"), CancellationToken.None);

        await c.Launcher.KillAllAsync(CancellationToken.None).WaitAsync(Patience);

        Check.True((await first.Exited).Killed && (await second.Exited).Killed, "both killed");
        Check.True(!ProcessTable.Exists(first.Pid) && !ProcessTable.Exists(second.Pid), "a child outlived kill-all");
    }

    // Linux reads the same figures from the job's cgroups (Platform.Tests' UsageTests, which need root).
    [Contract(Only = "windows")]
    public static async Task The_job_objects_usage_counts_its_processes_while_it_runs_and_keeps_totals_only_after_the_end(ContractContext c)
    {
        var child = await c.Launcher.StartAsync(c.Child("sleep", "600"), CancellationToken.None);
        var running = child.Usage();
        var exit = await child.KillAsync(CancellationToken.None).WaitAsync(Patience);

        Check.True(running is { Tasks: 1, CpuTime: not null }, $"a running child's usage: {running}");
        Check.True(exit.Usage is { Tasks: null, MemoryBytes: null, CpuTime: not null }, $"once ended: the totals only: {exit.Usage}");
        Check.True(child.Usage() is null, "an ended child reads no usage");
    }

    [Contract(Only = "windows", NotUnderWine = "Wine 8 reports a Job Object's CPU times and peak memory as 0 (measured: a second of spinning showed CpuTime 00:00:00 and PeakJobMemoryUsed 0)")]
    public static async Task The_job_objects_usage_counts_cpu_time_and_peak_memory(ContractContext c)
    {
        var child = await c.Launcher.StartAsync(c.Child("spin", "1"), CancellationToken.None);
        var exit = await child.Exited.WaitAsync(Patience);

        Check.True(exit.Usage?.CpuTime is { TotalSeconds: >= 0.3 }, $"a second of spinning shows as CPU time: {exit.Usage}");
        Check.True(exit.Usage?.MemoryPeakBytes > 0, $"a .NET child committed memory: {exit.Usage}");
    }

    // Windows counts processes; Linux's pids controller counts threads, which a .NET child has many of
    // (tested there with a shell fork bomb instead).
    [Contract(Only = "windows", NotUnderWine = "Wine 8 does not enforce a Job Object's active process limit (measured: the grandchild starts)")]
    public static async Task A_process_limit_is_enforced(ContractContext c)
    {
        // The child starts a grandchild: with room for one process only, that start fails.
        string pidFile = Path.Combine(c.Scratch, "limited.pid");
        var limited = await c.Launcher.StartAsync(c.Child("spawn-grandchild", pidFile) with { Limits = new ChildLimits(MaxProcesses: 1) }, CancellationToken.None);

        var (_, stderr, exit) = await DrainAsync(limited);

        Check.True(exit.ExitCode is not 0 && !File.Exists(pidFile), $"the grandchild started under a one-process limit (exit {exit.ExitCode}, stderr {Text(stderr)})");
    }

    [Contract]
    public static async Task Input_is_null_without_stdin_and_a_pipe_with_it(ContractContext c)
    {
        var without = await c.Launcher.StartAsync(c.Child("exit", "0"), CancellationToken.None);
        var with = await c.Launcher.StartAsync(c.Child("cat") with { Stdin = true }, CancellationToken.None);

        Check.True(without.Input is null, "a child started without Stdin has an input");
        Check.True(with.Input is { IsTerminal: false, IsClosed: false }, "a child started with Stdin has an open pipe for input");
        Check.True(InputOf(with).Complete(), "end of input is taken");
        Check.Equal(0, (await DrainAsync(with)).Exit.ExitCode, "cat's exit code at end of input");
        await DrainAsync(without);
    }

    [Contract]
    public static async Task Stdin_carries_a_MiB_byte_exact_and_its_end_ends_the_child(ContractContext c)
    {
        const int size = (1024 * 1024) + 4321;
        var sent = new byte[size];
        Pattern.Fill(0, sent);
        var child = await c.Launcher.StartAsync(c.Child("cat") with { Stdin = true }, CancellationToken.None);
        var drained = DrainAsync(child);
        var input = InputOf(child);

        await WriteAllAsync(input, sent, 64 * 1024);
        Check.True(input.Complete(), "end of input is taken");
        var (stdout, stderr, exit) = await drained;

        Check.Equal(size, stdout.Length, $"bytes back from cat (stderr: {Text(stderr)})");
        Check.True(sent.AsSpan().SequenceEqual(stdout), "what cat wrote differs from what went in");
        Check.Equal(0, exit.ExitCode, "cat's exit code at end of input");
        Check.True(input.IsClosed, "the input is closed after its end");
        Check.True(!input.TryWrite(new byte[] { 1 }), "bytes are taken after the end of input");
    }

    [Contract]
    public static async Task A_child_that_does_not_read_its_stdin_is_refused_more_and_loses_nothing(ContractContext c)
    {
        // What the kernel may hold besides this input's own queue: a pipe or socket buffer (on Linux
        // a socket pair's two buffers), with room to spare; far below a queue without bound.
        const int kernelAllowance = 2 * 1024 * 1024;
        const int piece = 4 * 1024;
        const int size = 3 * kernelAllowance;
        var sent = new byte[size];
        Pattern.Fill(0, sent);
        string go = Path.Combine(c.Scratch, "go");
        var child = await c.Launcher.StartAsync(c.Child("cat-when", go) with { Stdin = true }, CancellationToken.None);
        var drained = DrainAsync(child, TimeSpan.FromSeconds(50));
        var input = InputOf(child);

        // Fill until refused, again and again until a whole round 300 ms after the last takes
        // nothing: a refusal may only mean the writer has not yet moved the queue into the kernel.
        int taken = 0;
        int before;
        do
        {
            before = taken;
            while (taken < size && input.TryWrite(sent.AsMemory(taken, Math.Min(piece, size - taken))))
            {
                taken += Math.Min(piece, size - taken);
            }

            await Task.Delay(300);
        }
        while (taken > before && taken < size);

        Check.True(taken < size, $"{taken} bytes taken by a child that reads nothing: no bound");
        Check.True(taken <= IChildInput.BufferLimit + kernelAllowance, $"{taken} bytes taken by a child that reads nothing, more than {IChildInput.BufferLimit} + {kernelAllowance} the kernel may hold");
        var room = input.WaitToWriteAsync(CancellationToken.None).AsTask();
        Check.True(await Task.WhenAny(room, Task.Delay(1000)) != room, "room for more while the child reads nothing");

        File.WriteAllBytes(go, []);
        Check.True(await room.WaitAsync(Patience), "no room once the child reads");
        await WriteAllAsync(input, sent.AsMemory(taken), piece);
        Check.True(input.Complete(), "end of input is taken");
        var (stdout, _, exit) = await drained;

        Check.Equal(size, stdout.Length, "bytes back once the child read");
        Check.True(sent.AsSpan().SequenceEqual(stdout), "what came back differs from what went in");
        Check.Equal(0, exit.ExitCode, "cat's exit code");
    }

    [Contract]
    public static async Task Input_after_the_child_ended_is_refused_without_throwing(ContractContext c)
    {
        var child = await c.Launcher.StartAsync(c.Child("exit", "0") with { Stdin = true }, CancellationToken.None);
        var input = InputOf(child);
        await DrainAsync(child);

        Check.True(input.IsClosed, "the input of an ended child is open");
        Check.True(!input.TryWrite(new byte[] { 1, 2, 3 }), "bytes taken for an ended child");
        Check.True(!await input.WaitToWriteAsync(CancellationToken.None).AsTask().WaitAsync(Patience), "room for an ended child");
        Check.True(!input.Complete(), "end of input taken for an ended child");
        Check.True(!input.Resize(new TerminalSize(24, 80)), "a pipe resized");
    }

    [Contract]
    public static async Task Input_to_a_child_that_exits_without_reading_is_dropped_without_throwing(ContractContext c)
    {
        // The child exits while the writer is blocked in a write nobody will read.
        var child = await c.Launcher.StartAsync(c.Child("sleep", "0.5") with { Stdin = true }, CancellationToken.None);
        var input = InputOf(child);
        var chunk = new byte[64 * 1024];
        while (!child.Exited.IsCompleted && (input.TryWrite(chunk) || await input.WaitToWriteAsync(CancellationToken.None).AsTask().WaitAsync(Patience)))
        {
        }

        var (_, _, exit) = await DrainAsync(child);

        Check.Equal(0, exit.ExitCode, "exit code");
        Check.True(input.IsClosed && !input.TryWrite(chunk), "bytes taken for an ended child");
    }

    [Contract(Only = "windows")]
    public static async Task A_terminal_shows_the_console_and_passes_the_exit_code(ContractContext c)
    {
        var child = await c.Launcher.StartAsync(c.Child("conout", "last", "words") with { Terminal = new TerminalSize(24, 80) }, CancellationToken.None);
        var (stdout, stderr, exit) = await DrainAsync(child);
        var failing = await c.Launcher.StartAsync(c.Child("exit", "3") with { Terminal = new TerminalSize(24, 80) }, CancellationToken.None);
        var (_, _, failed) = await DrainAsync(failing);

        Check.True(child.Input is { IsTerminal: true }, "the input of a terminal child is a terminal");
        Check.True(Text(stdout).Contains("last words", StringComparison.Ordinal), $"the last output of a terminal child was lost: <{Escaped(stdout)}>");
        Check.Equal(0, stderr.Length, "bytes on stderr (a terminal has one output)");
        Check.Equal(0, exit.ExitCode, "exit code");
        Check.Equal(3, failed.ExitCode, "exit code on a terminal");
    }

    [Contract(Only = "windows")]
    public static async Task A_terminal_carries_keys_to_the_console_and_its_end_of_input_ends_the_reader(ContractContext c)
    {
        var child = await c.Launcher.StartAsync(c.Child("con-cat") with { Terminal = new TerminalSize(24, 80) }, CancellationToken.None);
        var drained = DrainAsync(child);
        var input = InputOf(child);

        Check.True(input.TryWrite("hello terminal\r"u8.ToArray()), "keys taken");
        Check.True(input.Complete(), "end of input taken");
        var (stdout, _, exit) = await drained;

        Check.True(Text(stdout).Contains("got:hello terminal", StringComparison.Ordinal), $"the child did not read the line typed: <{Escaped(stdout)}>");
        Check.Equal(0, exit.ExitCode, "the reader's exit code at end of input (Ctrl+Z, Enter)");
    }

    [Contract(Only = "windows")]
    public static async Task A_terminal_has_the_size_given(ContractContext c)
    {
        var child = await c.Launcher.StartAsync(c.Child("con-size") with { Terminal = new TerminalSize(37, 101) }, CancellationToken.None);
        var (stdout, _, exit) = await DrainAsync(child);

        Check.True(Text(stdout).Contains("size 37x101", StringComparison.Ordinal), $"the console's size is not the one given (37x101): <{Escaped(stdout)}>");
        Check.Equal(0, exit.ExitCode, "exit code");
    }

    [Contract(Only = "windows")]
    public static async Task Ctrl_C_typed_on_a_terminal_ends_the_child(ContractContext c)
    {
        var child = await StartOnConsoleAsync(c);

        Check.True(InputOf(child).TryWrite(new byte[] { 0x03 }), "Ctrl+C taken");

        await CheckEndedByCtrlCAsync(child);
    }

    [Contract(Only = "windows")]
    public static async Task Signal_INT_and_stop_type_Ctrl_C_on_a_terminal(ContractContext c)
    {
        var signalled = await StartOnConsoleAsync(c);
        var stopped = await StartOnConsoleAsync(c);

        Check.True(signalled.Signal("INT"), "INT refused for a running terminal child");
        var stop = stopped.StopAsync(TimeSpan.FromSeconds(50), CancellationToken.None);

        await CheckEndedByCtrlCAsync(signalled);
        var exit = await stop.WaitAsync(Patience);
        Check.True(!exit.Killed, "stop killed a terminal child that Ctrl+C ends, before its grace");
    }

    [Contract(Only = "windows", NotUnderWine = StdHandlesUnderWine)]
    public static async Task A_terminal_is_the_childs_stdin_and_stdout(ContractContext c)
    {
        var child = await c.Launcher.StartAsync(c.Child("cat") with { Terminal = new TerminalSize(24, 80) }, CancellationToken.None);
        var drained = DrainAsync(child);
        var input = InputOf(child);

        Check.True(input.IsTerminal, "the input of a terminal child is a terminal");
        Check.True(input.TryWrite("hello terminal\r"u8.ToArray()), "keys taken");
        Check.True(input.Complete(), "end of input taken");
        var (stdout, stderr, exit) = await drained;

        Check.True(Text(stdout).Contains("hello terminal", StringComparison.Ordinal), $"the screen did not show the line typed: <{Escaped(stdout)}>");
        Check.Equal(0, stderr.Length, "bytes on stderr (a terminal has one output)");
        Check.Equal(0, exit.ExitCode, "cat's exit code at end of input (Ctrl+Z, Enter)");
    }

    [Contract(Only = "windows", NotUnderWine = StdHandlesUnderWine)]
    public static async Task A_terminal_child_writing_to_stdout_is_not_lost(ContractContext c)
    {
        var child = await c.Launcher.StartAsync(c.Child("echo", "last", "words") with { Terminal = new TerminalSize(24, 80) }, CancellationToken.None);
        var (stdout, _, exit) = await DrainAsync(child);
        var failing = await c.Launcher.StartAsync(c.Child("exit", "3") with { Terminal = new TerminalSize(24, 80) }, CancellationToken.None);
        var (_, _, failed) = await DrainAsync(failing);

        Check.True(Text(stdout).Contains("last words", StringComparison.Ordinal), $"the last output of a terminal child was lost: <{Escaped(stdout)}>");
        Check.Equal(0, exit.ExitCode, "exit code");
        Check.Equal(3, failed.ExitCode, "exit code on a terminal");
    }

    [Contract(Only = "windows", NotUnderWine = "Wine 8's ResizePseudoConsole is a stub (E_NOTIMPL), and its pseudoconsole's child has no console standard handles to ask the size with")]
    public static async Task A_terminal_has_the_size_given_and_sees_a_resize(ContractContext c)
    {
        var child = await c.Launcher.StartAsync(c.Child("size-until", "30", "100") with { Terminal = new TerminalSize(24, 80) }, CancellationToken.None);
        var output = new MemoryStream();
        using var timeout = new CancellationTokenSource(Patience);
        while (!Text(output.ToArray()).Contains("size 24x80", StringComparison.Ordinal))
        {
            var chunk = await child.Output.ReadAsync(timeout.Token);
            output.Write(chunk.Data);
        }

        Check.True(InputOf(child).Resize(new TerminalSize(30, 100)), "resize taken");
        var (rest, _, exit) = await DrainAsync(child);

        Check.True(Text(rest).Contains("size 30x100", StringComparison.Ordinal), $"the child did not see the new size: <{Escaped(rest)}>");
        Check.Equal(0, exit.ExitCode, "exit code once the size was seen");
    }

    // A server running as an administrator must not lend that to its jobs: in the child's own token
    // (read by the child itself), every administrators' group is deny-only or absent, and each one the
    // server holds is there, deny-only (under Wine the server holds BUILTIN\Administrators, enabled).
    [Contract(Only = "windows")]
    [SupportedOSPlatform("windows")]
    public static async Task A_child_holds_the_administrators_groups_for_deny_only(ContractContext c)
    {
        var server = Words(WindowsToken.Describe());
        var token = await TokenOfChildAsync(c);

        var usable = token.Where(l => l[0] == "group" && IsAdministrators(l[1]) && l[2] != "deny-only").Select(l => $"{l[1]} {l[2]}");
        Check.True(!usable.Any(), $"administrators' groups the child can use: {string.Join(", ", usable)}");
        var servers = server.Where(l => l[0] == "group" && IsAdministrators(l[1]) && l[2] == "enabled").Select(l => l[1]);
        var lost = servers.Where(sid => !token.Any(l => l[0] == "group" && l[1] == sid && l[2] == "deny-only"));
        Check.True(!lost.Any(), $"administrators' groups of the server missing from the child's token instead of deny-only: {string.Join(", ", lost)}");
    }

    // A privilege present but disabled is one AdjustTokenPrivileges away from enabled: none may be present.
    [Contract(Only = "windows", NotUnderWine = "Wine 8's CreateRestrictedToken ignores its flags (NtFilterToken: \"flags 0x1 unsupported\"), so DISABLE_MAX_PRIVILEGE removes nothing (measured: the child keeps all 21 privileges of Wine's token)")]
    public static async Task A_child_has_no_privilege_but_SeChangeNotifyPrivilege(ContractContext c)
    {
        var token = await TokenOfChildAsync(c);

        var extra = token.Where(l => l[0] == "privilege" && l[1] != "SeChangeNotifyPrivilege").Select(l => l[1]);
        Check.True(!extra.Any(), $"privileges the child holds: {string.Join(", ", extra)}");
    }

    // An elevated administrator's token makes Administrators the owner of new objects and grants them
    // only to Administrators and SYSTEM: deny-only, that group would lock the child out of its own.
    [Contract(Only = "windows")]
    public static async Task A_child_owns_and_may_open_what_it_creates(ContractContext c)
    {
        var token = await TokenOfChildAsync(c);

        var mine = token.Where(l => l[0] == "user" || (l[0] == "group" && l[2] == "enabled")).Select(l => l[1]).ToHashSet();
        var owner = token.Single(l => l[0] == "owner")[1];
        Check.True(mine.Contains(owner), $"the owner of what the child creates, {owner}, is not the child's user or an enabled group of it");
        var allowed = token.Where(l => l[0] == "default-dacl" && l[1] == "allow").Select(l => l[2]).ToList();
        Check.True(allowed.Count == 0 || allowed.Any(mine.Contains), $"the default DACL grants only {string.Join(", ", allowed)}, none the child's user or an enabled group of it");
    }

    private static string? Named(CustomAttributeData attribute, string name) =>
        attribute.NamedArguments.Where(a => a.MemberName == name).Select(a => a.TypedValue.Value as string).FirstOrDefault();

    // A child on a console that has said it is there: typed before, Ctrl+C would reach no one (and
    // under Wine 8, measured, later ones were then ignored too).
    private static async Task<IChild> StartOnConsoleAsync(ContractContext c)
    {
        var child = await c.Launcher.StartAsync(c.Child("con-sleep", "600") with { Terminal = new TerminalSize(24, 80) }, CancellationToken.None);
        var output = new MemoryStream();
        using var timeout = new CancellationTokenSource(Patience);
        while (!Text(output.ToArray()).Contains("ready", StringComparison.Ordinal))
        {
            output.Write((await child.Output.ReadAsync(timeout.Token)).Data);
        }

        return child;
    }

    // The child sleeps for ten minutes: only the console's Ctrl+C event ends it this soon (its exit
    // code is the runtime's choice: 0 under Wine, measured).
    private static async Task CheckEndedByCtrlCAsync(IChild child)
    {
        var drained = DrainAsync(child);
        var ended = await Task.WhenAny(drained, Task.Delay(Patience));
        if (ended != drained)
        {
            await child.KillAsync(CancellationToken.None);
        }

        Check.True(ended == drained, "the child still runs after Ctrl+C on its terminal");
        Check.True(!(await drained).Exit.Killed, "the child was killed, not ended by Ctrl+C");
    }

    // The test child's "token" lines, each split into its words.
    private static async Task<string[][]> TokenOfChildAsync(ContractContext c)
    {
        var (stdout, stderr, exit) = await RunAsync(c, c.Child("token"));

        Check.Equal(0, exit.ExitCode, $"the token mode's exit code (stderr: {Text(stderr)})");
        var token = Words(Text(stdout));
        Check.True(token.Any(l => l[0] == "user") && token.Any(l => l[0] == "group"), $"no user or group in the child's token: <{Text(stdout)}>");
        return token;
    }

    private static string[][] Words(string lines) =>
        [.. lines.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' '))];

    // BUILTIN\Administrators, "Local account and member of Administrators group", and Domain (512),
    // Schema (518) and Enterprise (519) Admins of any domain.
    private static bool IsAdministrators(string sid) =>
        sid is "S-1-5-32-544" or "S-1-5-114"
        || (sid.StartsWith("S-1-5-21-", StringComparison.Ordinal) && sid.Split('-') is [_, _, _, _, _, _, _, "512" or "518" or "519"]);

    private static IChildInput InputOf(IChild child)
    {
        Check.True(child.Input is not null, "no input for a child started with Stdin or a terminal");
        return child.Input!;
    }

    private static async Task WriteAllAsync(IChildInput input, ReadOnlyMemory<byte> data, int piece)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (!data.IsEmpty)
        {
            var next = data[..Math.Min(piece, data.Length)];
            if (input.TryWrite(next))
            {
                data = data[next.Length..];
            }
            else
            {
                Check.True(await input.WaitToWriteAsync(timeout.Token), "the input closed while the child reads it");
            }
        }
    }

    private static string Escaped(byte[] bytes) =>
        string.Concat(Text(bytes).Select(ch => ch is < ' ' or '\x7f' ? $"\\x{(int)ch:x2}" : ch.ToString()));

    private static async Task<(byte[] Stdout, byte[] Stderr, ChildExit Exit)> RunAsync(ContractContext c, ChildSpec spec) =>
        await DrainAsync(await c.Launcher.StartAsync(spec, CancellationToken.None));

    private static Task<(byte[] Stdout, byte[] Stderr, ChildExit Exit)> DrainAsync(IChild child) => DrainAsync(child, Patience);

    private static async Task<(byte[] Stdout, byte[] Stderr, ChildExit Exit)> DrainAsync(IChild child, TimeSpan patience)
    {
        using var stdout = new MemoryStream();
        using var stderr = new MemoryStream();
        using var timeout = new CancellationTokenSource(patience);
        await foreach (var output in child.Output.ReadAllAsync(timeout.Token))
        {
            (output.Stream == ChildStream.Stdout ? stdout : stderr).Write(output.Data);
        }

        return (stdout.ToArray(), stderr.ToArray(), await child.Exited.WaitAsync(Patience));
    }

    private static async Task<int> ReadPidFileAsync(string path)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!File.Exists(path))
        {
            Check.True(DateTime.UtcNow < deadline, $"no pid file at {path}");
            await Task.Delay(20);
        }

        return int.Parse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture);
    }

    private static string Text(byte[] bytes) => System.Text.Encoding.UTF8.GetString(bytes);

    private static string Lines(string prefix, int count) =>
        string.Concat(Enumerable.Range(0, count).Select(i => $"{prefix} {i}\n"));
}
