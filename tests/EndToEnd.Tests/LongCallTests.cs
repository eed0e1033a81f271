using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Jobs.Protos;
using Jobs.TestSupport;

namespace Jobs.EndToEnd.Tests;

/// <summary>Kills that take longer than a grain call may, and timeouts longer than a timer can hold, on the real server.</summary>
[Collection(ControlServerCollection.Name)]
public sealed class LongCallTests(ControlServerFixture fixture) : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("jobs-long-call-tests-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact(Timeout = 180_000)]
    public async Task A_kill_with_a_grace_past_Orleans_response_timeout_answers_with_the_final_status()
    {
        // Orleans times a grain call out after 30 s: a grace past it once answered INTERNAL after 31 s.
        var grace = TimeSpan.FromSeconds(35);
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            string id = await StartIgnoringSigtermAsync(client);
            var clock = Stopwatch.StartNew();

            var killed = await client.KillAsync(
                new KillRequest { JobId = id, Grace = Duration.FromTimeSpan(grace) }, deadline: DateTime.UtcNow.AddSeconds(120));

            Assert.Equal((JobState.Killed, "SIGKILL", EndReason.KilledByRequest), (killed.Status.State, killed.Status.SignalName, killed.Status.EndReason));
            Assert.True(clock.Elapsed >= grace - TimeSpan.FromSeconds(1), $"the kill answered after {clock.Elapsed}, before its grace ended");
            Assert.False(Processes.IsAlive(killed.Status.Pid), "the job's process outlived its kill");
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task A_kill_whose_deadline_comes_before_its_grace_ends_says_the_kill_goes_on_and_the_job_ends()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            string id = await StartIgnoringSigtermAsync(client);

            var error = await Assert.ThrowsAsync<RpcException>(async () => await client.KillAsync(
                new KillRequest { JobId = id, Grace = Duration.FromTimeSpan(TimeSpan.FromSeconds(12)) }, deadline: DateTime.UtcNow.AddSeconds(5)));
            var ended = await client.WaitAsync(new WaitRequest { JobId = id }, deadline: DateTime.UtcNow.AddSeconds(60));

            Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
            Assert.Contains("the kill goes on", error.Status.Detail);
            Assert.Equal((JobState.Killed, "SIGKILL", EndReason.KilledByRequest), (ended.Status.State, ended.Status.SignalName, ended.Status.EndReason));
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData(100_000L * 3600, 0)]
    [InlineData(50L * 24 * 3600, 0)]
    [InlineData(1, -5)]
    [InlineData(-10, 0)]
    public async Task A_timeout_no_timer_can_hold_is_refused_and_nothing_is_started(long seconds, int nanos)
    {
        string pidFile = Path.Combine(_scratch, $"{Guid.NewGuid():N}.pid");
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            var request = new RunRequest { Command = TestChildProgram.Path, Timeout = new Duration { Seconds = seconds, Nanos = nanos } };
            request.Args.Add(["spawn-grandchild", pidFile]);

            var error = await Assert.ThrowsAsync<RpcException>(async () => await client.RunAsync(request, deadline: DateTime.UtcNow.AddSeconds(30)));

            Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
            Assert.Contains("timeout", error.Status.Detail);
            // A started child writes its grandchild's pid at once; give it time to, under load.
            await Task.Delay(2000);
            Assert.False(File.Exists(pidFile), "the job's process was started");
        }
    }

    private static async Task<string> StartIgnoringSigtermAsync(Protos.Jobs.JobsClient client)
    {
        var run = new RunRequest { Command = TestChildProgram.Path };
        run.Args.Add(["ignore-sigterm", "600"]);
        string id = (await client.RunAsync(run, deadline: DateTime.UtcNow.AddSeconds(30))).JobId;

        // SIGTERM is ignored once the child said so; before that it would end the child at once.
        using var logs = client.Logs(new LogsRequest { JobId = id }, deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.True(await logs.ResponseStream.MoveNext(CancellationToken.None), "the job wrote nothing");
        Assert.Equal("ready\n", logs.ResponseStream.Current.Chunk.Data.ToStringUtf8());
        return id;
    }
}
