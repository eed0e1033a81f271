using Grpc.Core;
using Jobs.Protos;
using Jobs.TestSupport;

namespace Jobs.EndToEnd.Tests;

/// <summary>A client that retries Run with its request id starts one job, through the real server.</summary>
[Collection(ControlServerCollection.Name)]
public sealed class RetriedRunEndToEndTests(ControlServerFixture fixture)
{
    [Fact(Timeout = 90_000)]
    public async Task Runs_with_one_request_id_start_one_job_per_identity_also_when_sent_at_once()
    {
        string requestId = Guid.NewGuid().ToString();
        var (mine, myChannel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        var (theirs, theirChannel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client2);
        using (myChannel)
        using (theirChannel)
        {
            var concurrent = await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
                (await mine.RunAsync(Sleep(requestId), deadline: DateTime.UtcNow.AddSeconds(60))).JobId));
            string retried = (await mine.RunAsync(Sleep(requestId), deadline: DateTime.UtcNow.AddSeconds(30))).JobId;
            string other = (await theirs.RunAsync(Sleep(requestId), deadline: DateTime.UtcNow.AddSeconds(30))).JobId;
            try
            {
                string job = Assert.Single(concurrent.Distinct());
                Assert.Equal(job, retried);
                Assert.NotEqual(job, other);
                var listed = await mine.ListAsync(new ListRequest(), deadline: DateTime.UtcNow.AddSeconds(30));
                Assert.Single(listed.Jobs, j => j.State == JobState.Running && j.Command == "sleep" && j.JobId == job);
                Assert.DoesNotContain(listed.Jobs, j => concurrent.Contains(j.JobId) && j.JobId != job);
            }
            finally
            {
                foreach (string id in concurrent.Distinct())
                {
                    await mine.KillAsync(new KillRequest { JobId = id, Grace = new Google.Protobuf.WellKnownTypes.Duration() });
                }

                await theirs.KillAsync(new KillRequest { JobId = other, Grace = new Google.Protobuf.WellKnownTypes.Duration() });
            }
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_request_id_that_is_too_long_is_refused()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            var error = await Assert.ThrowsAsync<RpcException>(async () => await client.RunAsync(Sleep(new string('x', 129))));

            Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
            Assert.Contains("request id", error.Status.Detail);
        }
    }

    private static RunRequest Sleep(string requestId)
    {
        var request = new RunRequest { Command = "sleep", RequestId = requestId };
        request.Args.Add("600");
        return request;
    }
}
