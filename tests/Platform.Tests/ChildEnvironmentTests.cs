using Jobs.TestSupport;

namespace Jobs.Platform.Tests;

/// <summary>What environment a Unix child starts with: the base, what its spec adds, and nothing else of the server's.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ChildEnvironmentTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly IChildLauncher _launcher = ChildLauncher.CreateForCurrentOS();
    private readonly string _scratch = Directory.CreateTempSubdirectory("jobs-environment-tests-").FullName;

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
    public async Task A_child_gets_the_base_and_its_spec_variables_and_nothing_else()
    {
        var (name, home) = PasswdEntry();

        var variables = await EnvOfChildAsync(new Dictionary<string, string> { ["JOBS_TEST_ADDED"] = "a=b c" });

        Assert.Equal(["HOME", "JOBS_TEST_ADDED", "LANG", "PATH", "USER"], variables.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(Environment.GetEnvironmentVariable("PATH"), variables["PATH"]);
        Assert.Equal(Environment.GetEnvironmentVariable("LANG") is { Length: > 0 } lang ? lang : "C.UTF-8", variables["LANG"]);
        Assert.Equal(home, variables["HOME"]);
        Assert.Equal(name, variables["USER"]);
        Assert.Equal("a=b c", variables["JOBS_TEST_ADDED"]);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_spec_variable_replaces_the_bases()
    {
        var variables = await EnvOfChildAsync(new Dictionary<string, string> { ["LANG"] = "jobs.test", ["HOME"] = "/tmp" });

        Assert.Equal("jobs.test", variables["LANG"]);
        Assert.Equal("/tmp", variables["HOME"]);
    }

    [Fact(Timeout = 30_000)]
    public Task A_program_name_is_looked_up_in_the_childs_path_when_started_straight() =>
        // No job cgroups (the root is no cgroup mount): the launcher spawns the program itself.
        AssertLookupInChildsPathAsync(new PlatformOptions { CgroupV2Root = _scratch }, isolate: false);

    [Needs("isolation", Timeout = 30_000)]
    public Task A_program_name_is_looked_up_in_the_childs_path_when_started_through_the_shim() =>
        // Isolation always goes through the shim, which looks the program up itself (execvp).
        AssertLookupInChildsPathAsync(null, isolate: true);

    [Fact(Timeout = 10_000)]
    public async Task The_base_holds_the_servers_user_and_only_named_variables_are_copied_from_the_server()
    {
        await Task.Yield();
        string set = $"JOBS_TEST_SET_{Guid.NewGuid():N}";
        string unset = $"JOBS_TEST_UNSET_{Guid.NewGuid():N}";
        Environment.SetEnvironmentVariable(set, "value");
        try
        {
            var copied = ChildEnvironment.FromServer([set, unset]);
            var baseVariables = ChildEnvironment.Base();

            Assert.Equal(new Dictionary<string, string> { [set] = "value" }, copied);
            Assert.False(baseVariables.ContainsKey(set));
            Assert.Equal(PasswdEntry().Home, baseVariables["HOME"]);
        }
        finally
        {
            Environment.SetEnvironmentVariable(set, null);
        }
    }

    [Theory(Timeout = 10_000)]
    [InlineData("", "cannot be empty")]
    [InlineData("A=B", "'A=B' cannot be a variable name")]
    [InlineData("A\0B", "'A\\0B' cannot be a variable name")]
    [InlineData("=C:", "'=C:' cannot be a variable name")]
    [InlineData("JOBS_OK_1", null)]
    public async Task Names_with_equals_or_nul_or_empty_are_refused(string name, string? problem)
    {
        await Task.Yield();

        string? found = ChildEnvironment.CheckName(name);

        if (problem is null)
        {
            Assert.Null(found);
        }
        else
        {
            Assert.Contains(problem, found, StringComparison.Ordinal);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task A_bad_name_in_the_spec_is_refused_and_nothing_runs()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            _launcher.StartAsync(new ChildSpec("env", [], Environment: new Dictionary<string, string> { ["A=B"] = "1" }), CancellationToken.None));

        Assert.Contains("'A=B' cannot be a variable name", error.Message, StringComparison.Ordinal);
    }

    private async Task<Dictionary<string, string>> EnvOfChildAsync(IReadOnlyDictionary<string, string> environment)
    {
        // "env" by its bare name: the lookup in PATH must keep working.
        var child = await _launcher.StartAsync(new ChildSpec("env", [], Environment: environment), CancellationToken.None);
        var (stdout, exit) = await ChildText.DrainAsync(child, Patience);

        Assert.Equal(0, exit.ExitCode);
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
    }

    private async Task AssertLookupInChildsPathAsync(PlatformOptions? options, bool isolate)
    {
        var launcher = ChildLauncher.CreateForCurrentOS(options);
        try
        {
            string program = Path.Combine(_scratch, "jobs-test-program");
            File.WriteAllText(program, "#!/bin/sh\necho found \"$@\"\n");
            File.SetUnixFileMode(program, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var inScratch = new Dictionary<string, string> { ["PATH"] = $"/jobs-test-nowhere:{_scratch}:/usr/bin:/bin" };
            var nowhere = new Dictionary<string, string> { ["PATH"] = "/jobs-test-nowhere" };

            var found = await launcher.StartAsync(new ChildSpec("jobs-test-program", ["x"], Environment: inScratch, Isolate: isolate), CancellationToken.None);
            var (stdout, exit) = await ChildText.DrainAsync(found, Patience);
            var missing = await Assert.ThrowsAsync<ChildStartException>(() =>
                launcher.StartAsync(new ChildSpec("env", [], Environment: nowhere, Isolate: isolate), CancellationToken.None));

            Assert.Equal("found x\n", stdout);
            Assert.Equal(0, exit.ExitCode);
            Assert.Equal("No such file or directory", missing.Reason);
        }
        finally
        {
            using var cleanup = new CancellationTokenSource(Patience);
            await launcher.KillAllAsync(cleanup.Token);
            (launcher as IDisposable)?.Dispose();
        }
    }

    // The effective user's line of /etc/passwd: name and home folder.
    private static (string Name, string Home) PasswdEntry()
    {
        string uid = File.ReadLines("/proc/self/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal))
            .Split('\t', StringSplitOptions.RemoveEmptyEntries)[2];
        string[] entry = File.ReadLines("/etc/passwd").Select(l => l.Split(':')).First(f => f.Length > 5 && f[2] == uid);
        return (entry[0], entry[5]);
    }
}
