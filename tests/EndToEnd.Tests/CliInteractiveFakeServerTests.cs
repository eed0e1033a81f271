using Jobs.Protos;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// <c>run -i/-t/-d</c> and <c>attach</c> without a terminal, against a fake server that plays a
/// job running <c>cat</c>: what the CLI sends and how it ends, where the real server cannot be
/// made to show it.
/// </summary>
public sealed class CliInteractiveFakeServerTests
{
    private const string JobId = "01930000-0000-7000-8000-000000000015";

    [Fact(Timeout = 120_000)]
    public async Task Run_i_sends_stdin_byte_exact_then_end_of_file_and_exits_with_the_jobs_code()
    {
        var fake = new FakeJobs
        {
            Status = new JobStatus { JobId = JobId, State = JobState.Running, Stdin = true },
            AttachEnd = new JobStatus { JobId = JobId, State = JobState.Exited, ExitCode = 7, Stdin = true },
        };
        await using var server = await FakeJobsServer.StartAsync(fake);
        var input = new byte[1024 * 1024 + 17];
        new Random(15).NextBytes(input);

        var result = await Cli.RunWithStdinAsync(server.Endpoint, input, "run", "-i", "--", "cat");

        Assert.True(result.ExitCode == 7, $"exit {result.ExitCode}, {result.Stdout.Length} bytes out, stderr '{result.Stderr}'");
        Assert.True(input.AsSpan().SequenceEqual(result.Stdout), $"got {result.Stdout.Length} bytes back, not the {input.Length} sent");
        Assert.True(fake.Runs.TryPeek(out var run));
        Assert.True(run.Stdin);
        Assert.Null(run.Terminal);
        var requests = fake.AttachRequests.ToArray();
        Assert.Equal(new AttachStart { JobId = JobId, Stdin = true, Replay = true }, requests[0].Start);
        Assert.Equal(AttachRequest.ItemOneofCase.EndOfInput, requests[^1].ItemCase);
        Assert.DoesNotContain(requests, r => r.ItemCase is AttachRequest.ItemOneofCase.Resize or AttachRequest.ItemOneofCase.Detach);
    }

    [Fact(Timeout = 120_000)]
    public async Task Run_t_with_a_pipe_as_stdin_is_refused_before_any_job_starts()
    {
        var fake = new FakeJobs { Status = new JobStatus { JobId = JobId, State = JobState.Running, Stdin = true, Terminal = true } };
        await using var server = await FakeJobsServer.StartAsync(fake);

        var result = await Cli.RunWithStdinAsync(server.Endpoint, "ls\n"u8.ToArray(), "run", "-it", "--", "sh");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("the input device is not a TTY", result.Stderr);
        Assert.Empty(fake.Runs);
        Assert.Empty(fake.AttachRequests);
    }

    [Fact(Timeout = 120_000)]
    public async Task Run_itd_starts_the_job_on_a_terminal_with_TERM_and_prints_its_id_without_attaching()
    {
        var fake = new FakeJobs { Status = new JobStatus { JobId = JobId, State = JobState.Running, Stdin = true, Terminal = true } };
        await using var server = await FakeJobsServer.StartAsync(fake);

        var result = await Cli.RunWithEnvironmentAsync(server.Endpoint, new Dictionary<string, string> { ["TERM"] = "xterm-test" }, "run", "-itd", "sh", "-c", "echo hi");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(JobId + "\n", result.StdoutText);
        Assert.True(fake.Runs.TryPeek(out var run));
        Assert.Equal("sh", run.Command);
        Assert.Equal(["-c", "echo hi"], run.Args);
        Assert.True(run.Stdin);
        Assert.Equal(new TerminalSize { Rows = 24, Columns = 80 }, run.Terminal);
        Assert.Equal("xterm-test", run.Env["TERM"]);
        Assert.Empty(fake.AttachRequests);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_TERM_given_with_e_wins_over_the_local_one()
    {
        var fake = new FakeJobs { Status = new JobStatus { JobId = JobId, State = JobState.Running, Stdin = true, Terminal = true } };
        await using var server = await FakeJobsServer.StartAsync(fake);

        var result = await Cli.RunWithEnvironmentAsync(server.Endpoint, new Dictionary<string, string> { ["TERM"] = "xterm-test" }, "run", "-t", "-d", "-e", "TERM=vt100", "--", "sh");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(fake.Runs.TryPeek(out var run));
        Assert.Equal("vt100", run.Env["TERM"]);
    }

    [Fact(Timeout = 120_000)]
    public async Task Attach_without_a_terminal_pipes_stdin_and_ends_with_the_job()
    {
        var fake = new FakeJobs
        {
            Status = new JobStatus { JobId = JobId, State = JobState.Running, Stdin = true, Terminal = true },
            AttachEnd = new JobStatus { JobId = JobId, State = JobState.Killed, Signal = 15, Stdin = true, Terminal = true },
        };
        await using var server = await FakeJobsServer.StartAsync(fake);

        var result = await Cli.RunWithStdinAsync(server.Endpoint, "typed\n"u8.ToArray(), "attach", JobId);

        Assert.True(result.ExitCode == 128 + 15, result.ToString());
        Assert.Equal("typed\n", result.StdoutText);
        var requests = fake.AttachRequests.ToArray();
        Assert.Equal(new AttachStart { JobId = JobId, Stdin = true, Replay = false }, requests[0].Start);
        Assert.Equal(AttachRequest.ItemOneofCase.EndOfInput, requests[^1].ItemCase);
    }

    [Fact(Timeout = 120_000)]
    public async Task Attach_no_stdin_asks_only_to_watch()
    {
        var fake = new FakeJobs { Status = new JobStatus { JobId = JobId, State = JobState.Exited, ExitCode = 3, Stdin = true } };
        await using var server = await FakeJobsServer.StartAsync(fake);

        var result = await Cli.RunAsync(server.Endpoint, "attach", "--no-stdin", "--replay", JobId);

        Assert.Equal(new AttachStart { JobId = JobId, Stdin = false, Replay = true }, fake.AttachRequests.ToArray()[0].Start);
        Assert.True(result.ExitCode == 3, result.ToString());
    }

    [Theory(Timeout = 120_000)]
    [InlineData("ctrl-1")]
    [InlineData("ctrl-p,,ctrl-q")]
    [InlineData("ab")]
    public async Task Detach_keys_that_are_not_keys_are_a_usage_error(string keys)
    {
        var fake = new FakeJobs { Status = new JobStatus { JobId = JobId, State = JobState.Running, Stdin = true } };
        await using var server = await FakeJobsServer.StartAsync(fake);

        var result = await Cli.RunAsync(server.Endpoint, "attach", "--detach-keys", keys, JobId);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("--detach-keys", result.Stderr);
        Assert.Empty(fake.AttachRequests);
    }
}
