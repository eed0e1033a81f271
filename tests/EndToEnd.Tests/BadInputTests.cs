using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Jobs.Protos;
using Jobs.TestSupport;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// Run requests with fields no job can be given: each is refused with a clear status before
/// anything is started, on a server of the class's own, where nothing else runs.
/// </summary>
public sealed class BadInputTests(BadInputTests.OwnServer own) : IClassFixture<BadInputTests.OwnServer>
{
    public static TheoryData<string, StatusCode, string> Requests => new()
    {
        { "command with NUL", StatusCode.InvalidArgument, "the command holds a NUL character" },
        { "argument with NUL", StatusCode.InvalidArgument, "argument 2 holds a NUL character" },
        { "env name empty", StatusCode.InvalidArgument, "a variable name cannot be empty" },
        { "env name with =", StatusCode.InvalidArgument, "'A=B' cannot be a variable name" },
        { "env name with NUL", StatusCode.InvalidArgument, "cannot be a variable name" },
        { "env value with NUL", StatusCode.InvalidArgument, "the value of 'A' holds a NUL character" },
        { "relative cwd", StatusCode.InvalidArgument, "'some/dir' is a relative path" },
        { "dot cwd", StatusCode.InvalidArgument, "'.' is a relative path" },
        { "cwd with NUL", StatusCode.InvalidArgument, "the working directory holds a NUL character" },
        { "cwd that does not exist", StatusCode.FailedPrecondition, "does not exist" },
        { "cwd that is a file", StatusCode.FailedPrecondition, "does not exist" },
        { "timeout not a duration", StatusCode.InvalidArgument, "is not a valid google.protobuf.Duration" },
    };

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Requests))]
    public async Task A_run_request_with_a_field_no_job_can_have_is_refused_before_anything_starts(string what, StatusCode expected, string says)
    {
        var request = new RunRequest { Command = TestChildProgram.Path, Args = { "sleep", "60" } };
        switch (what)
        {
            case "command with NUL": request.Command += "\0echo"; break;
            case "argument with NUL": request.Args[1] = "60\0"; break;
            case "env name empty": request.Env[string.Empty] = "x"; break;
            case "env name with =": request.Env["A=B"] = "x"; break;
            case "env name with NUL": request.Env["A\0B"] = "x"; break;
            case "env value with NUL": request.Env["A"] = "x\0y"; break;
            case "relative cwd": request.Cwd = "some/dir"; break;
            case "dot cwd": request.Cwd = "."; break;
            case "cwd with NUL": request.Cwd = "/tmp\0/etc"; break;
            case "cwd that does not exist": request.Cwd = $"/tmp/jobs-no-such-dir-{Guid.NewGuid():N}"; break;
            case "cwd that is a file": request.Cwd = "/etc/passwd"; break;
            case "timeout not a duration": request.Timeout = new Duration { Seconds = 5, Nanos = -1 }; break;
            default: throw new ArgumentOutOfRangeException(nameof(what), what, null);
        }

        var (client, channel) = GrpcClients.Create(own.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            var error = await Assert.ThrowsAsync<RpcException>(async () => await client.RunAsync(request, deadline: DateTime.UtcNow.AddSeconds(30)));

            Assert.True(error.StatusCode == expected, $"{what}: {error.StatusCode} '{error.Status.Detail}', expected {expected}");
            Assert.Contains(says, error.Status.Detail, StringComparison.Ordinal);
            var jobs = await client.ListAsync(new ListRequest(), deadline: DateTime.UtcNow.AddSeconds(30));
            Assert.Empty(jobs.Jobs);
            Assert.Empty(TestChildrenOf(own.Server.Pid));
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task A_kill_grace_or_a_logs_since_that_is_not_a_valid_time_is_invalid_argument_and_the_job_runs_on()
    {
        var (client, channel) = GrpcClients.Create(own.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            var run = await client.RunAsync(new RunRequest { Command = TestChildProgram.Path, Args = { "sleep", "60" } }, deadline: DateTime.UtcNow.AddSeconds(30));
            try
            {
                var kill = await Assert.ThrowsAsync<RpcException>(async () => await client.KillAsync(
                    new KillRequest { JobId = run.JobId, Grace = new Duration { Seconds = 1, Nanos = -5 } }, deadline: DateTime.UtcNow.AddSeconds(30)));
                var logs = await Assert.ThrowsAsync<RpcException>(async () =>
                {
                    using var call = client.Logs(new LogsRequest { JobId = run.JobId, Since = new Timestamp { Seconds = 1, Nanos = -5 } }, deadline: DateTime.UtcNow.AddSeconds(30));
                    await call.ResponseStream.MoveNext(CancellationToken.None);
                });

                Assert.True(kill.StatusCode == StatusCode.InvalidArgument, $"kill: {kill.StatusCode} '{kill.Status.Detail}'");
                Assert.Contains("grace is not a valid duration", kill.Status.Detail, StringComparison.Ordinal);
                Assert.True(logs.StatusCode == StatusCode.InvalidArgument, $"logs: {logs.StatusCode} '{logs.Status.Detail}'");
                Assert.Contains("since is not a valid time", logs.Status.Detail, StringComparison.Ordinal);
                var status = await client.PsAsync(new PsRequest { JobId = run.JobId }, deadline: DateTime.UtcNow.AddSeconds(30));
                Assert.Equal(JobState.Running, status.Status.State);
            }
            finally
            {
                await client.KillAsync(new KillRequest { JobId = run.JobId, Grace = new Duration() }, deadline: DateTime.UtcNow.AddSeconds(30));
                await client.RemoveAsync(new RemoveRequest { JobId = run.JobId }, deadline: DateTime.UtcNow.AddSeconds(30));
            }
        }
    }

    // Processes below the server running the test child; the requests above would have started one.
    private static List<int> TestChildrenOf(int server) =>
        [.. Processes.WithDescendants(server).Skip(1).Where(pid => Processes.CommandLine(pid).Contains(TestChildProgram.Path, StringComparison.Ordinal))];

    /// <summary>A one-command server for this class alone, so no other test's job is running on it.</summary>
    public sealed class OwnServer : IAsyncLifetime
    {
        public ServerProcess Server { get; private set; } = null!;

        public async Task InitializeAsync() => Server = await ServerProcess.StartCombinedAsync();

        public async Task DisposeAsync() => await Server.DisposeAsync();
    }
}
