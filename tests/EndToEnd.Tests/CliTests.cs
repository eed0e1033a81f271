using System.Text.RegularExpressions;
using Jobs.TestChild;
using Jobs.TestSupport;

namespace Jobs.EndToEnd.Tests;

/// <summary>Every CLI command against the real one-command server over mutual TLS on loopback.</summary>
[Collection(ServerCollection.Name)]
public sealed partial class CliTests(ServerFixture fixture) : IAsyncLifetime
{
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

    [Fact(Timeout = 120_000)]
    public async Task Run_logs_and_ps_drive_a_job_to_its_end()
    {
        var run = await Cli.RunAsync(Endpoint, "run", "--", TestChildProgram.Path, "echo", "hello", "--from", "jobs");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Matches(JobIdLine(), run.StdoutText);
        string id = Remember(run.StdoutText.Trim());

        var logs = await Cli.RunAsync(Endpoint, "logs", id);
        Assert.True(logs.ExitCode == 0, logs.ToString());
        Assert.Equal("hello --from jobs\n", logs.StdoutText);
        Assert.Equal(string.Empty, logs.Stderr);

        var ps = await Cli.RunAsync(Endpoint, "ps", id);
        Assert.Equal("Exited code=0\n", StatusLines.StatusOf(ps.StdoutText));
    }

    [Fact(Timeout = 120_000)]
    public async Task Exit_code_and_stderr_reach_the_caller()
    {
        string id = await RunAsync("sh", "-c", "echo to-out; echo to-err >&2; exit 3");

        var logs = await Cli.RunAsync(Endpoint, "logs", id);
        var ps = await Cli.RunAsync(Endpoint, "ps", id);

        Assert.Equal("to-out\n", logs.StdoutText);
        Assert.Equal("to-err\n", logs.Stderr);
        Assert.Equal("Exited code=3\n", StatusLines.StatusOf(ps.StdoutText));
    }

    [Fact(Timeout = 120_000)]
    public async Task Binary_output_arrives_byte_for_byte()
    {
        const int size = 8 * 1024 * 1024 + 3;
        string id = await RunAsync(TestChildProgram.Path, "flood", size.ToString(System.Globalization.CultureInfo.InvariantCulture), "7777");

        var logs = await Cli.RunAsync(Endpoint, "logs", id);

        var expected = new byte[size];
        Pattern.Fill(0, expected);
        Assert.Equal(0, logs.ExitCode);
        Assert.True(expected.AsSpan().SequenceEqual(logs.Stdout), $"got {logs.Stdout.Length} bytes, not the {size} written");
    }

    [Fact(Timeout = 120_000)]
    public async Task Logs_resumes_from_a_stream_offset()
    {
        const int size = 3 * 1024 * 1024;
        const int offset = 2_000_001;
        string id = await RunAsync(TestChildProgram.Path, "flood", size.ToString(System.Globalization.CultureInfo.InvariantCulture), "5000");

        var logs = await Cli.RunAsync(Endpoint, "logs", id, "--stdout-offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var expected = new byte[size - offset];
        Pattern.Fill(offset, expected);
        Assert.Equal(0, logs.ExitCode);
        Assert.True(expected.AsSpan().SequenceEqual(logs.Stdout), $"got {logs.Stdout.Length} bytes, not the {expected.Length} from offset {offset}");
    }

    [Fact(Timeout = 120_000)]
    public async Task Run_options_set_environment_working_directory_and_timeout()
    {
        string id = await RunWithOptionsAsync(["--env", "JOBS_GREETING=hello there", "--cwd", "/tmp", "--timeout", "30s", "--", "sh", "-c", "echo \"$JOBS_GREETING\"; pwd"]);
        var logs = await Cli.RunAsync(Endpoint, "logs", id);
        Assert.Equal("hello there\n/tmp\n", logs.StdoutText);

        string slow = await RunWithOptionsAsync(["--timeout", "1s", "--", "sleep", "600"]);
        await Cli.RunAsync(Endpoint, "logs", slow);
        Assert.Equal("Killed signal=SIGTERM (timed out)\n", StatusLines.StatusOf((await Cli.RunAsync(Endpoint, "ps", slow)).StdoutText));
    }

    [Fact(Timeout = 120_000)]
    public async Task Wait_blocks_until_the_end_and_exits_with_the_jobs_code()
    {
        string id = await RunAsync("sh", "-c", "sleep 1; exit 5");

        var wait = await Cli.RunAsync(Endpoint, "wait", id);

        Assert.Equal((5, ""), (wait.ExitCode, wait.StdoutText));
    }

    [Fact(Timeout = 120_000)]
    public async Task Rm_forgets_a_finished_job_and_refuses_a_running_one()
    {
        string running = await RunAsync("sleep", "600");
        string finished = await RunAsync("true");
        await Cli.RunAsync(Endpoint, "wait", finished);

        var refused = await Cli.RunAsync(Endpoint, "rm", running);
        var removed = await Cli.RunAsync(Endpoint, "rm", finished);
        var gone = await Cli.RunAsync(Endpoint, "ps", finished);

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("still running", refused.Stderr);
        Assert.Equal((0, "Exited code=0\n"), (removed.ExitCode, StatusLines.WithoutNodeAndUser(removed.StdoutText)));
        Assert.Contains("not found", gone.Stderr);
        Assert.StartsWith("Running", (await Cli.RunAsync(Endpoint, "ps", running)).StdoutText);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_pids_limit_holds_the_jobs_tree()
    {
        var limited = await Cli.RunAsync(Endpoint, "run", "--wait", "--pids", "10", "--", "sh", "-c", "i=0; while [ $i -lt 30 ]; do sleep 2 & i=$((i+1)); done; exit 0");

        Assert.NotEqual(0, limited.ExitCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task Kill_signal_sends_one_signal_and_nothing_else()
    {
        string id = await RunAsync("sh", "-c", "trap 'echo got-usr1; exit 7' USR1; while :; do sleep 0.05; done");
        await Task.Delay(300);

        var signal = await Cli.RunAsync(Endpoint, "kill", id, "--signal", "USR1");
        var logs = await Cli.RunAsync(Endpoint, "logs", id);

        Assert.Equal(0, signal.ExitCode);
        Assert.Equal("got-usr1\n", logs.StdoutText);
        Assert.Equal("Exited code=7\n", StatusLines.StatusOf((await Cli.RunAsync(Endpoint, "ps", id)).StdoutText));
    }

    [Fact(Timeout = 120_000)]
    public async Task Run_follow_streams_the_output_and_exits_with_the_jobs_code()
    {
        var result = await Cli.RunAsync(Endpoint, "run", "--follow", "--", "sh", "-c", "echo out; echo err >&2; exit 7");

        Assert.Equal(7, result.ExitCode);
        Assert.Equal("out\n", result.StdoutText);
        Assert.Equal("err\n", result.Stderr);
    }

    [Fact(Timeout = 120_000)]
    public async Task Run_wait_shows_nothing_and_exits_with_128_plus_the_signal_when_killed()
    {
        var exited = await Cli.RunAsync(Endpoint, "run", "--wait", "--", "sh", "-c", "echo hidden; exit 3");
        var killed = await Cli.RunAsync(Endpoint, "run", "--wait", "--timeout", "1s", "--", "sleep", "600");

        Assert.Equal((3, ""), (exited.ExitCode, exited.StdoutText));
        Assert.Equal(128 + 15, killed.ExitCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task Interrupting_a_follow_detaches_and_leaves_the_job_running()
    {
        var detached = await Cli.RunAsync(Endpoint, TimeSpan.FromSeconds(3), "run", "--follow", "--", "sleep", "600");

        Assert.Equal(130, detached.ExitCode);
        var id = System.Text.RegularExpressions.Regex.Match(detached.Stderr, "detached; job ([0-9a-f-]{36}) keeps running").Groups[1].Value;
        Assert.True(id.Length == 36, detached.Stderr);
        Remember(id);
        Assert.StartsWith("Running pid=", (await Cli.RunAsync(Endpoint, "ps", id)).StdoutText);
    }

    [Theory(Timeout = 120_000)]
    [InlineData("--follow")]
    [InlineData("--wait")]
    public async Task Kill_on_detach_kills_the_job_when_the_follow_or_wait_is_interrupted(string how)
    {
        var detached = await Cli.RunAsync(Endpoint, TimeSpan.FromSeconds(3), "run", how, "--kill-on-detach", "--", "sleep", "600");

        Assert.Equal(130, detached.ExitCode);
        var id = System.Text.RegularExpressions.Regex.Match(detached.Stderr, "detached; job ([0-9a-f-]{36}) was killed").Groups[1].Value;
        Assert.True(id.Length == 36, detached.Stderr);
        Assert.EndsWith("(killed by request)\n", StatusLines.StatusOf((await Cli.RunAsync(Endpoint, "ps", id)).StdoutText));
    }

    [Fact(Timeout = 120_000)]
    public async Task Every_byte_value_survives_the_trip()
    {
        string id = await RunAsync(TestChildProgram.Path, "binary", "4");

        var logs = await Cli.RunAsync(Endpoint, "logs", id);

        Assert.Equal(Enumerable.Range(0, 4 * 256).Select(i => (byte)i).ToArray(), logs.Stdout);
    }

    [Fact(Timeout = 120_000)]
    public async Task Three_followers_of_a_writing_job_get_all_of_its_output()
    {
        string id = await RunAsync(TestChildProgram.Path, "drip", "300", "0.01");

        var followers = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Cli.RunAsync(Endpoint, "logs", id)));

        string expected = string.Concat(Enumerable.Range(0, 300).Select(i => $"line {i}\n"));
        Assert.All(followers, f => Assert.Equal(0, f.ExitCode));
        Assert.All(followers, f => Assert.Equal(expected, f.StdoutText));
    }

    [Fact(Timeout = 120_000)]
    public async Task Kill_ends_a_running_job_and_its_tree()
    {
        string pidFile = Path.Combine(Path.GetTempPath(), $"jobs-e2e-{Guid.NewGuid():N}.pid");
        string id = await RunAsync(TestChildProgram.Path, "spawn-grandchild", pidFile);
        int grandchild = await Processes.ReadPidFileAsync(pidFile, TimeSpan.FromSeconds(30));
        try
        {
            var running = await Cli.RunAsync(Endpoint, "ps", id);
            Assert.Matches(@"^Running pid=\d+\n$", StatusLines.StatusOf(running.StdoutText));
            int pid = StatusLines.Pid(running.StdoutText);

            var kill = await Cli.RunAsync(Endpoint, "kill", id);

            Assert.Equal(0, kill.ExitCode);
            Assert.Matches(@"^(Killed signal=SIG[A-Z]+|Exited code=\d+) \(killed by request\)\n$", StatusLines.WithoutNodeAndUser(kill.StdoutText));
            Assert.False(Processes.IsAlive(pid), "the job outlived kill");
            Assert.False(Processes.IsAlive(grandchild), "the grandchild outlived kill");

            var again = await Cli.RunAsync(Endpoint, "kill", id);
            Assert.Equal(0, again.ExitCode);
            Assert.Equal(kill.StdoutText, again.StdoutText);
        }
        finally
        {
            Processes.KillIfAlive(grandchild);
            File.Delete(pidFile);
        }
    }

    [Theory(Timeout = 120_000)]
    [InlineData(new[] { "run", "--", "" }, "empty")]
    [InlineData(new[] { "run", "--", "jobs-no-such-program" }, "cannot start 'jobs-no-such-program': No such file or directory")]
    [InlineData(new[] { "run", "--", "/etc/passwd" }, "cannot start '/etc/passwd': Permission denied")]
    [InlineData(new[] { "ps", "not-a-job-id" }, "is not a job id")]
    [InlineData(new[] { "logs", "019365c8-7571-79f2-8991-9be713d63d56" }, "not found")]
    [InlineData(new[] { "kill", "019365c8-7571-79f2-8991-9be713d63d56" }, "not found")]
    [InlineData(new[] { "ps", "019365c8-7571-49f2-8991-9be713d63d56" }, "is not a job id")]
    [InlineData(new[] { "run", "--cwd", "/jobs-no-such-dir", "--", "true" }, "working directory '/jobs-no-such-dir' does not exist")]
    [InlineData(new[] { "run", "--env", "NOEQUALS", "--", "true" }, "--env takes NAME=VALUE")]
    [InlineData(new[] { "run", "--timeout", "soon", "--", "true" }, "is not a duration")]
    [InlineData(new[] { "run", "--pids", "0", "--", "true" }, "--pids must be at least 1")]
    public async Task Bad_input_gets_one_line_on_stderr_and_a_failing_exit_code(string[] args, string message)
    {
        var result = await Cli.RunAsync(Endpoint, args);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Empty(result.Stdout);
        Assert.Contains(message, result.Stderr);
        Assert.Single(result.Stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_client_certificate_from_another_CA_is_refused_by_the_CLI()
    {
        string dir = Directory.CreateTempSubdirectory("jobs-e2e-foreign-").FullName;
        try
        {
            using var foreign = GrpcClients.ForeignClient();
            Jobs.CertGen.DevCertificates.WritePem(foreign, Path.Combine(dir, "c.pem"), Path.Combine(dir, "c.key"));

            var result = await Cli.RunAsync(Endpoint, "--cert", Path.Combine(dir, "c.pem"), "--key", Path.Combine(dir, "c.key"), "ps", "019365c8-7571-79f2-8991-9be713d63d56");

            Assert.Equal(3, result.ExitCode);
            Assert.Single(result.Stderr.TrimEnd('\n').Split('\n'));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task The_server_name_is_checked()
    {
        var result = await Cli.RunAsync(Endpoint, "--domain", "not-the-server.example", "ps", "019365c8-7571-79f2-8991-9be713d63d56");

        Assert.Equal(3, result.ExitCode);
    }

    [GeneratedRegex(@"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\n$")]
    private static partial Regex JobIdLine();

    private string Remember(string id)
    {
        _jobs.Add(id);
        return id;
    }

    private Task<string> RunAsync(params string[] command) => RunWithOptionsAsync(["--", .. command]);

    private async Task<string> RunWithOptionsAsync(string[] optionsAndCommand)
    {
        var run = await Cli.RunAsync(Endpoint, ["run", .. optionsAndCommand]);
        Assert.True(run.ExitCode == 0, run.ToString());
        return Remember(run.StdoutText.Trim());
    }
}
