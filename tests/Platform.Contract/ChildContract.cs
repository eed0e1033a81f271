using System.Globalization;
using System.Reflection;
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

    private static string? Named(CustomAttributeData attribute, string name) =>
        attribute.NamedArguments.Where(a => a.MemberName == name).Select(a => a.TypedValue.Value as string).FirstOrDefault();

    private static async Task<(byte[] Stdout, byte[] Stderr, ChildExit Exit)> RunAsync(ContractContext c, ChildSpec spec) =>
        await DrainAsync(await c.Launcher.StartAsync(spec, CancellationToken.None));

    private static async Task<(byte[] Stdout, byte[] Stderr, ChildExit Exit)> DrainAsync(IChild child)
    {
        using var stdout = new MemoryStream();
        using var stderr = new MemoryStream();
        using var timeout = new CancellationTokenSource(Patience);
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
