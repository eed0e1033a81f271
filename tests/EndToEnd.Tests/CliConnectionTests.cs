using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Jobs.Protos;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// What the real CLI says when it cannot reach the server or the server cannot serve, and how it
/// retries a Run: against fake servers, which can fail in ways a real one cannot be made to.
/// </summary>
public sealed class CliConnectionTests
{
    private const string Id = "019365c8-7571-79f2-8991-9be713d63d56";

    [Fact(Timeout = 120_000)]
    public async Task A_server_that_never_completes_the_TLS_handshake_is_unavailable_within_the_connect_timeout_not_cancelled()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var held = new List<Socket>();
        using var stop = new CancellationTokenSource();
        var accepting = Task.Run(async () =>
        {
            // Accepts and never says a word: the CLI's ClientHello goes unanswered.
            while (!stop.IsCancellationRequested)
            {
                held.Add(await listener.AcceptSocketAsync(stop.Token));
            }
        });
        try
        {
            var clock = Stopwatch.StartNew();
            var ps = await Cli.RunAsync($"https://127.0.0.1:{port}", "ps", Id);

            Assert.Equal((3, $"jobs: server unavailable: could not connect to 127.0.0.1:{port} within 10s\n"), (ps.ExitCode, ps.Stderr));
            Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(55));
        }
        finally
        {
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => accepting);
            held.ForEach(socket => socket.Dispose());
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_server_answering_unavailable_is_reported_as_server_unavailable_with_the_connection_code()
    {
        var fake = new FakeJobs { Status = Job(JobState.Running), PsRefusal = new RpcException(new Status(StatusCode.Unavailable, "node n1 (127.0.0.1:11111) is unreachable")) };
        await using var server = await FakeJobsServer.StartAsync(fake);

        var ps = await Cli.RunAsync(server.Endpoint, "ps", Id);

        Assert.Equal((3, "", "jobs: server unavailable: node n1 (127.0.0.1:11111) is unreachable\n"), (ps.ExitCode, ps.StdoutText, ps.Stderr));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_server_answering_deadline_exceeded_says_it_did_not_answer_in_time()
    {
        var fake = new FakeJobs { Status = Job(JobState.Running), PsRefusal = new RpcException(new Status(StatusCode.DeadlineExceeded, "node n1 did not answer within 30 s")) };
        await using var server = await FakeJobsServer.StartAsync(fake);

        var ps = await Cli.RunAsync(server.Endpoint, "ps", Id);

        Assert.Equal((3, "jobs: the server did not answer in time: node n1 did not answer within 30 s\n"), (ps.ExitCode, ps.Stderr));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_Run_answered_unavailable_is_retried_with_the_same_request_id_and_each_run_has_its_own()
    {
        var fake = new FakeJobs { Status = Job(JobState.Running), RunFailures = 2 };
        await using var server = await FakeJobsServer.StartAsync(fake);

        var retried = await Cli.RunAsync(server.Endpoint, "run", "--", "sleep", "600");
        var another = await Cli.RunAsync(server.Endpoint, "run", "--", "sleep", "600");

        Assert.Equal((0, Id + "\n", ""), (retried.ExitCode, retried.StdoutText, retried.Stderr));
        Assert.Equal(0, another.ExitCode);
        string[] ids = [.. fake.Runs.Select(run => run.RequestId)];
        Assert.Equal(4, ids.Length);
        Assert.True(Guid.TryParse(ids[0], out _), $"request id '{ids[0]}' is not a UUID");
        Assert.Equal([ids[0], ids[0], ids[0]], ids[..3]);
        Assert.NotEqual(ids[0], ids[3]);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_Run_the_server_keeps_answering_unavailable_fails_after_a_few_tries_with_the_connection_code()
    {
        var fake = new FakeJobs { Status = Job(JobState.Running), RunFailures = int.MaxValue };
        await using var server = await FakeJobsServer.StartAsync(fake);

        var run = await Cli.RunAsync(server.Endpoint, "run", "--", "sleep", "600");

        Assert.Equal((3, "", "jobs: server unavailable: the silo is not reachable\n"), (run.ExitCode, run.StdoutText, run.Stderr));
        Assert.Equal(4, fake.Runs.Count);
        Assert.Single(fake.Runs.Select(r => r.RequestId).Distinct());
    }

    [Fact(Timeout = 60_000)]
    public async Task A_Run_with_reconnect_for_0_is_not_retried()
    {
        var fake = new FakeJobs { Status = Job(JobState.Running), RunFailures = 1 };
        await using var server = await FakeJobsServer.StartAsync(fake);

        var run = await Cli.RunAsync(server.Endpoint, "run", "--reconnect-for", "0", "--", "sleep", "600");

        Assert.Equal((3, "jobs: server unavailable: the silo is not reachable\n"), (run.ExitCode, run.Stderr));
        Assert.Single(fake.Runs);
    }

    [Fact(Timeout = 60_000)]
    public async Task Kill_with_a_long_grace_waits_longer_than_the_grace_and_prints_the_final_status()
    {
        var killed = Job(JobState.Killed);
        killed.Signal = 9;
        killed.SignalName = "SIGKILL";
        killed.EndReason = EndReason.KilledByRequest;
        var fake = new FakeJobs { Status = killed };
        await using var server = await FakeJobsServer.StartAsync(fake);
        var before = DateTime.UtcNow;

        var kill = await Cli.RunAsync(server.Endpoint, "kill", "--grace", "5m", Id);

        Assert.Equal((0, "Killed signal=SIGKILL (killed by request)\n", ""), (kill.ExitCode, kill.StdoutText, kill.Stderr));
        var (request, deadline) = Assert.Single(fake.Kills);
        Assert.Equal(TimeSpan.FromMinutes(5), request.Grace.ToTimeSpan());
        Assert.True(deadline > before + TimeSpan.FromMinutes(5), $"the kill's deadline {deadline:O} is not beyond the 5 m grace from {before:O}");
    }

    private static JobStatus Job(JobState state) => new()
    {
        JobId = Id,
        State = state,
        Command = "sleep",
        Args = { "600" },
        StartedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1)),
    };
}
