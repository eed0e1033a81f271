using System.Diagnostics;
using Grpc.Core;
using Jobs.Protos;

namespace Jobs.EndToEnd.Tests;

/// <summary>The Wait call: the end status of a job, without its output.</summary>
[Collection(ServerCollection.Name)]
public sealed class WaitTests(ServerFixture fixture)
{
    [Fact(Timeout = 60_000)]
    public async Task Wait_on_a_running_job_answers_when_it_ends_with_its_exit_code()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            string id = (await client.RunAsync(new RunRequest { Command = "sh", Args = { "-c", "sleep 2; exit 7" } })).JobId;
            var before = (await client.PsAsync(new PsRequest { JobId = id })).Status;

            var ended = (await client.WaitAsync(new WaitRequest { JobId = id }, deadline: DateTime.UtcNow.AddSeconds(30))).Status;

            Assert.Equal(JobState.Running, before.State);
            Assert.Equal((id, JobState.Exited, 7), (ended.JobId, ended.State, ended.ExitCode));
            Assert.NotNull(ended.EndedAt);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Wait_on_a_job_that_is_killed_answers_with_the_kill_at_once()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            string id = (await client.RunAsync(new RunRequest { Command = "sleep", Args = { "600" } })).JobId;
            try
            {
                using var waiting = client.WaitAsync(new WaitRequest { JobId = id }, deadline: DateTime.UtcNow.AddSeconds(30));
                await Task.Delay(500);
                Assert.False(waiting.ResponseAsync.IsCompleted);

                var clock = Stopwatch.StartNew();
                await client.KillAsync(new KillRequest { JobId = id });
                var ended = (await waiting.ResponseAsync).Status;

                Assert.Equal((JobState.Killed, EndReason.KilledByRequest), (ended.State, ended.EndReason));
                // The end notice, not the once-a-second recheck, is what normally answers.
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"answered {clock.Elapsed} after the kill");
            }
            finally
            {
                await client.KillAsync(new KillRequest { JobId = id });
            }
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Wait_on_a_job_that_has_ended_answers_at_once()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            string id = (await client.RunAsync(new RunRequest { Command = "sh", Args = { "-c", "exit 4" } })).JobId;
            await client.WaitAsync(new WaitRequest { JobId = id }, deadline: DateTime.UtcNow.AddSeconds(30));

            var clock = Stopwatch.StartNew();
            var again = (await client.WaitAsync(new WaitRequest { JobId = id }, deadline: DateTime.UtcNow.AddSeconds(5))).Status;

            Assert.Equal((JobState.Exited, 4), (again.State, again.ExitCode));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Wait_ends_at_the_callers_deadline_and_leaves_the_job_running()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            string id = (await client.RunAsync(new RunRequest { Command = "sleep", Args = { "600" } })).JobId;
            try
            {
                var error = await Assert.ThrowsAsync<RpcException>(async () =>
                    await client.WaitAsync(new WaitRequest { JobId = id }, deadline: DateTime.UtcNow.AddSeconds(1.5)));

                Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
                Assert.Equal(JobState.Running, (await client.PsAsync(new PsRequest { JobId = id })).Status.State);
            }
            finally
            {
                await client.KillAsync(new KillRequest { JobId = id });
            }
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Wait_on_another_identitys_job_is_not_found_even_while_it_runs()
    {
        var (owner, ownerChannel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        var (other, otherChannel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client2);
        using (ownerChannel)
        using (otherChannel)
        {
            string id = (await owner.RunAsync(new RunRequest { Command = "sleep", Args = { "600" } })).JobId;
            try
            {
                var error = await Assert.ThrowsAsync<RpcException>(async () =>
                    await other.WaitAsync(new WaitRequest { JobId = id }, deadline: DateTime.UtcNow.AddSeconds(10)));

                Assert.Equal((StatusCode.NotFound, $"job {id} not found"), (error.StatusCode, error.Status.Detail));
            }
            finally
            {
                await owner.KillAsync(new KillRequest { JobId = id });
            }
        }
    }
}
