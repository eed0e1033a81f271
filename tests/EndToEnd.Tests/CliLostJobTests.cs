using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Jobs.Protos;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// How the CLI shows a job's node, and a job whose node left the cluster (LOST), against a fake
/// server: no one-node server can lose a job.
/// </summary>
public sealed class CliLostJobTests
{
    private const string Id = "019365c8-7571-79f2-8991-9be713d63d56";

    [Theory(Timeout = 60_000)]
    [InlineData(JobState.Running, 0, 0, "", EndReason.Unspecified, "Running pid=1234 node=n2")]
    [InlineData(JobState.Exited, 3, 0, "", EndReason.Unspecified, "Exited code=3 node=n2")]
    [InlineData(JobState.Killed, 0, 15, "SIGTERM", EndReason.TimedOut, "Killed signal=SIGTERM node=n2 (timed out)")]
    [InlineData(JobState.Lost, 0, 0, "", EndReason.Unspecified, "Lost node=n2 (node left the cluster)")]
    [InlineData(JobState.Lost, -1, 0, "", EndReason.Unspecified, "Lost node=n2 (node left the cluster); it had exited with code 0")]
    [InlineData(JobState.Lost, 3, 0, "", EndReason.Unspecified, "Lost node=n2 (node left the cluster); it had exited with code 3")]
    [InlineData(JobState.Lost, 0, 9, "SIGKILL", EndReason.Unspecified, "Lost node=n2 (node left the cluster); it had been killed by SIGKILL")]
    [InlineData(JobState.Lost, 0, 15, "SIGTERM", EndReason.KilledByRequest, "Lost node=n2 (node left the cluster); it had been killed by SIGTERM (killed by request)")]
    public async Task Ps_names_the_jobs_node_and_says_when_the_node_left_the_cluster(JobState state, int exitCode, int signal, string signalName, EndReason reason, string expected)
    {
        // A lost job that had ended before its node left has an end time; -1: it had exited with 0.
        var status = Job(state, "n2");
        if (state == JobState.Lost && (exitCode != 0 || signal != 0))
        {
            status.EndedAt = Ended;
        }

        exitCode = Math.Max(exitCode, 0);
        status.Pid = 1234;
        status.ExitCode = exitCode;
        status.Signal = signal;
        status.SignalName = signalName;
        status.EndReason = reason;
        await using var server = await FakeJobsServer.StartAsync(new FakeJobs { Status = status });

        var ps = await Cli.RunAsync(server.Endpoint, "ps", Id);

        Assert.Equal((0, expected + "\n", ""), (ps.ExitCode, ps.StdoutText, ps.Stderr));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_job_without_a_node_shows_no_node()
    {
        var status = Job(JobState.Exited, node: "");
        await using var server = await FakeJobsServer.StartAsync(new FakeJobs { Status = status });

        var ps = await Cli.RunAsync(server.Endpoint, "ps", Id);
        var table = await Cli.RunAsync(server.Endpoint, "ps");

        // Nor a user, as a server from before accounts answers.
        Assert.Equal("Exited code=0\n", ps.StdoutText);
        Assert.Matches($@"^{Id} +Exited +0 +- +- +- +- +\S+ +\S+ +sleep 600$", table.StdoutText.Split('\n')[1]);
    }

    [Fact(Timeout = 60_000)]
    public async Task Ps_lists_the_node_of_each_job_and_a_lost_job_with_the_signal_it_had_ended_with()
    {
        var status = Job(JobState.Lost, "n2");
        status.Signal = 9;
        status.SignalName = "SIGKILL";
        status.User = "build";
        await using var server = await FakeJobsServer.StartAsync(new FakeJobs { Status = status });

        var table = await Cli.RunAsync(server.Endpoint, "ps");

        string[] lines = table.StdoutText.TrimEnd('\n').Split('\n');
        Assert.Equal(0, table.ExitCode);
        Assert.Matches(@"^ID +STATE +EXIT +NODE +USER +CPU +MEMORY +STARTED +DURATION +COMMAND$", lines[0]);
        Assert.Matches($@"^{Id} +Lost +SIGKILL +n2 +build +- +- +2026-11-28T09:00:00Z +\S+ +sleep 600$", lines[1]);
        Assert.Equal(lines[0].IndexOf("NODE", StringComparison.Ordinal), lines[1].IndexOf("n2", StringComparison.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task Logs_that_end_with_a_lost_job_exit_6_and_say_the_job_and_its_output_are_gone()
    {
        var fake = new FakeJobs
        {
            Status = Job(JobState.Lost, "n2"),
            Output = [new OutputChunk { Stream = OutputStream.Stdout, Data = ByteString.CopyFromUtf8("partial\n"), Time = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow) }],
        };
        await using var server = await FakeJobsServer.StartAsync(fake);

        var logs = await Cli.RunAsync(server.Endpoint, "logs", Id);
        var snapshot = await Cli.RunAsync(server.Endpoint, "logs", "--follow=false", Id);

        Assert.Equal((6, "partial\n"), (logs.ExitCode, logs.StdoutText));
        Assert.Equal($"jobs: job {Id}: its node n2 left the cluster; the job and its output are gone\n", logs.Stderr);
        Assert.Equal((6, "partial\n"), (snapshot.ExitCode, snapshot.StdoutText));
    }

    [Theory(Timeout = 60_000)]
    [InlineData("wait", Id)]
    [InlineData("run", "--wait", "--", "sleep", "600")]
    [InlineData("run", "--follow", "--", "sleep", "600")]
    public async Task Waiting_for_a_lost_job_exits_6_instead_of_the_code_it_had_exited_with(params string[] args)
    {
        var status = Job(JobState.Lost, "n2");
        status.ExitCode = 3;
        await using var server = await FakeJobsServer.StartAsync(new FakeJobs { Status = status });

        var result = await Cli.RunAsync(server.Endpoint, args);

        Assert.Equal((6, ""), (result.ExitCode, result.StdoutText));
        Assert.Equal($"jobs: job {Id}: its node n2 left the cluster; the job and its output are gone\n", result.Stderr);
    }

    [Fact(Timeout = 60_000)]
    public async Task Json_output_of_a_lost_job_carries_its_state_and_node_and_still_exits_6()
    {
        await using var server = await FakeJobsServer.StartAsync(new FakeJobs { Status = Job(JobState.Lost, "n2") });

        var wait = await Cli.RunAsync(server.Endpoint, "run", "--wait", "-o", "json", "--", "sleep", "600");

        using var json = JsonDocument.Parse(wait.StdoutText);
        Assert.Equal(6, wait.ExitCode);
        Assert.Equal("JOB_STATE_LOST", json.RootElement.GetProperty("state").GetString());
        Assert.Equal("n2", json.RootElement.GetProperty("node").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Run_node_asks_the_server_for_that_node_and_leaves_the_jobs_own_arguments_alone()
    {
        var fake = new FakeJobs { Status = Job(JobState.Running, "n2") };
        await using var server = await FakeJobsServer.StartAsync(fake);

        var pinned = await Cli.RunAsync(server.Endpoint, "run", "--node", "n2", "echo", "--node", "x");
        var anywhere = await Cli.RunAsync(server.Endpoint, "run", "--", "true");

        Assert.Equal((0, Id + "\n"), (pinned.ExitCode, pinned.StdoutText));
        Assert.Equal(0, anywhere.ExitCode);
        var runs = fake.Runs.ToArray();
        Assert.Equal(("n2", "echo"), (runs[0].Node, runs[0].Command));
        Assert.Equal(["--node", "x"], runs[0].Args);
        Assert.Equal(("", "true"), (runs[1].Node, runs[1].Command));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_node_name_with_terminal_controls_is_shown_escaped()
    {
        await using var server = await FakeJobsServer.StartAsync(new FakeJobs { Status = Job(JobState.Lost, "n\u001b[2J\u202e") });

        var ps = await Cli.RunAsync(server.Endpoint, "ps", Id);
        var table = await Cli.RunAsync(server.Endpoint, "ps");
        var logs = await Cli.RunAsync(server.Endpoint, "logs", Id);

        Assert.Equal(@"Lost node=n\x1b[2J\u202e (node left the cluster)" + "\n", ps.StdoutText);
        Assert.Contains(@" n\x1b[2J\u202e ", table.StdoutText);
        Assert.Contains(@"its node n\x1b[2J\u202e left the cluster", logs.Stderr);
        Assert.DoesNotContain('\u001b', ps.StdoutText + table.StdoutText + logs.Stderr);
    }

    private static JobStatus Job(JobState state, string node) => new()
    {
        JobId = Id,
        State = state,
        Command = "sleep",
        Args = { "600" },
        Node = node,
        Owner = "client1",
        StartedAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 11, 28, 9, 0, 0, TimeSpan.Zero)),
        EndedAt = state is JobState.Running or JobState.Lost ? null : Ended,
    };

    private static Timestamp Ended => Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 11, 28, 9, 5, 2, TimeSpan.Zero));
}
