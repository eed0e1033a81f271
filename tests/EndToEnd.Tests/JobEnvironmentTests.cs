namespace Jobs.EndToEnd.Tests;

/// <summary>
/// What environment a job gets from a real server: the documented base, the server's
/// <c>Jobs:Environment</c> and <c>Jobs:PassEnvironment</c>, then <c>run --env</c>; nothing else of the server's.
/// </summary>
public sealed class JobEnvironmentTests(JobEnvironmentTests.ConfiguredServer fixture) : IClassFixture<JobEnvironmentTests.ConfiguredServer>
{
    private string Endpoint => fixture.Server.Endpoint;

    [Fact(Timeout = 120_000)]
    public async Task A_job_gets_the_base_and_the_configured_variables_and_none_of_the_servers_own()
    {
        var (id, variables) = await EnvOfJobAsync(Endpoint);

        Assert.Equal(
            ExpectedVariables,
            variables.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(id, variables["JOBS_JOB_ID"]);
        Assert.Equal(Environment.GetEnvironmentVariable("PATH"), variables["PATH"]);
        Assert.Equal(Environment.GetEnvironmentVariable("LANG") is { Length: > 0 } lang ? lang : "C.UTF-8", variables["LANG"]);
        if (Machine.IsRoot)
        {
            // A root server runs client1's job as a uid of client1's own, with a home of its own.
            var user = Assert.Single(System.Text.RegularExpressions.Regex.Matches(variables["USER"], "^jobs-([0-9]+)$"));
            Assert.Equal(variables["USER"], variables["LOGNAME"]);
            Assert.Equal(user.Groups[1].Value, Path.GetFileName(variables["HOME"]));
            Assert.StartsWith(Path.GetTempPath(), variables["HOME"], StringComparison.Ordinal);
        }
        else
        {
            var (name, home) = PasswdEntry();
            Assert.Equal(home, variables["HOME"]);
            Assert.Equal(name, variables["USER"]);
        }

        Assert.Equal("from-config", variables["JOBS_TEST_FROM_CONFIG"]);
        Assert.Equal("passed", variables["JOBS_TEST_PASSED"]);
    }

    [Fact(Timeout = 180_000)]
    public async Task In_the_split_deployment_the_silo_gives_jobs_the_same_environment_and_none_of_its_own()
    {
        int gatewayPort = FreePorts.Next();
        await using var silo = await ServerProcess.StartSiloWithEnvironmentAsync(FreePorts.Next(), gatewayPort, ConfiguredServer.ServerEnvironment, ConfiguredServer.Settings);
        await using var gateway = await ServerProcess.StartRemoteGatewayAsync(gatewayPort);

        var (id, variables) = await EnvOfJobAsync(gateway.Endpoint);

        Assert.Equal(
            ExpectedVariables,
            variables.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(id, variables["JOBS_JOB_ID"]);
    }

    [Fact(Timeout = 120_000)]
    public async Task Run_env_replaces_configured_variables_but_cannot_set_the_job_id()
    {
        var (_, variables) = await EnvOfJobAsync(Endpoint, "--env", "JOBS_TEST_FROM_CONFIG=mine", "--env", "PATH=/usr/bin:/bin", "--env", "JOBS_TEST_MORE=x");
        var refused = await Cli.RunAsync(Endpoint, "run", "--env", "JOBS_JOB_ID=forged", "--", "env");

        Assert.Equal("mine", variables["JOBS_TEST_FROM_CONFIG"]);
        Assert.Equal("/usr/bin:/bin", variables["PATH"]);
        Assert.Equal("x", variables["JOBS_TEST_MORE"]);
        Assert.Equal("passed", variables["JOBS_TEST_PASSED"]);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("JOBS_JOB_ID is set by the server", refused.Stderr, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public async Task Without_PATH_and_LANG_the_server_gives_jobs_defaults_and_still_finds_programs()
    {
        await using var server = await ServerProcess.StartCombinedWithEnvironmentAsync(new Dictionary<string, string?> { ["PATH"] = null, ["LANG"] = null });

        // "env" by its bare name: found in the default PATH.
        var (_, variables) = await EnvOfJobAsync(server.Endpoint);

        Assert.Equal("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", variables["PATH"]);
        Assert.Equal("C.UTF-8", variables["LANG"]);
    }

    [Theory(Timeout = 120_000)]
    [InlineData("--Jobs:PassEnvironment:0=A=B", "Jobs:PassEnvironment: 'A=B' cannot be a variable name")]
    [InlineData("--Jobs:Environment:JOBS_JOB_ID=forged", "Jobs:Environment: JOBS_JOB_ID is set by the server")]
    public async Task A_bad_variable_name_in_the_configuration_stops_the_server_at_start(string setting, string message)
    {
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerProcess.StartCombinedAsync(setting));

        Assert.Contains(message, refused.Message, StringComparison.Ordinal);
    }

    private static async Task<(string Id, Dictionary<string, string> Variables)> EnvOfJobAsync(string endpoint, params string[] runOptions)
    {
        var run = await Cli.RunAsync(endpoint, ["run", .. runOptions, "--", "env"]);
        Assert.True(run.ExitCode == 0, run.ToString());
        string id = run.StdoutText.Trim();
        var logs = await Cli.RunAsync(endpoint, "logs", id);
        Assert.True(logs.ExitCode == 0, logs.ToString());
        var variables = logs.StdoutText.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        return (id, variables);
    }

    // The line of /etc/passwd of the user the tests (and so their servers) run as: name and home folder.
    // Every variable of a job of the configured server, in order: LOGNAME too where the server switches users (as root).
    private static IEnumerable<string> ExpectedVariables => ((string[])[
        "HOME", "JOBS_JOB_ID", "JOBS_TEST_FROM_CONFIG", "JOBS_TEST_PASSED", "LANG", .. Machine.IsRoot ? ["LOGNAME"] : Array.Empty<string>(), "PATH", "USER"]);

    private static (string Name, string Home) PasswdEntry()
    {
        string uid = File.ReadLines("/proc/self/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal))
            .Split('\t', StringSplitOptions.RemoveEmptyEntries)[2];
        string[] entry = File.ReadLines("/etc/passwd").Select(l => l.Split(':')).First(f => f.Length > 5 && f[2] == uid);
        return (entry[0], entry[5]);
    }

    /// <summary>
    /// A server whose environment holds a secret and settings of its runtime that must not reach
    /// jobs, with one variable configured for jobs and one passed through.
    /// </summary>
    public sealed class ConfiguredServer : IAsyncLifetime
    {
        public ServerProcess Server { get; private set; } = null!;

        /// <summary>The server's environment: what must stay with it, and one variable to pass on.</summary>
        public static readonly IReadOnlyDictionary<string, string?> ServerEnvironment = new Dictionary<string, string?>
        {
            ["JOBS_TEST_SECRET"] = "do-not-leak",
            ["ASPNETCORE_JOBS_TEST"] = "do-not-leak",
            ["DOTNET_JOBS_TEST"] = "do-not-leak",
            ["Orleans__JobsTest"] = "do-not-leak",
            ["JOBS_TEST_PASSED"] = "passed",
        };

        /// <summary>The server's settings for jobs' environment.</summary>
        public static readonly string[] Settings =
        [
            "--Jobs:Environment:JOBS_TEST_FROM_CONFIG=from-config",
            "--Jobs:PassEnvironment:0=JOBS_TEST_PASSED",
            "--Jobs:PassEnvironment:1=JOBS_TEST_NOT_SET",
        ];

        public async Task InitializeAsync() => Server = await ServerProcess.StartCombinedWithEnvironmentAsync(ServerEnvironment, Settings);

        public async Task DisposeAsync() => await Server.DisposeAsync();
    }
}
