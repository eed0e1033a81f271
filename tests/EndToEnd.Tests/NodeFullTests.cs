using Grpc.Core;
using Jobs.Protos;
using Jobs.TestSupport;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// A node that holds as many open files as it may: a Run is refused with RESOURCE_EXHAUSTED and a
/// message that says why, nothing is left of it, the jobs already running go on, and room comes
/// back as jobs end.
/// </summary>
public sealed class NodeFullTests
{
    // Enough for the server itself and a few dozen jobs: the limit is reached in seconds.
    private const int OpenFiles = 450;

    [Fact(Timeout = 180_000)]
    public async Task A_run_on_a_node_out_of_open_files_is_resource_exhausted_and_room_comes_back_as_jobs_end()
    {
        await using var server = await ServerProcess.StartCombinedUnderAsync(["prlimit", $"--nofile={OpenFiles}:{OpenFiles}", "--"]);
        Assert.Contains($"Open files: up to {OpenFiles} (the hard limit)", server.Log);

        var (client, channel) = GrpcClients.Create(server.Endpoint, GrpcClients.Client1);
        using var _ = channel;
        var running = new List<(string Id, int Pid)>();
        try
        {
            RpcException? refused = null;
            while (refused is null && running.Count < OpenFiles)
            {
                try
                {
                    string id = (await client.RunAsync(new RunRequest { Command = "sleep", Args = { "600" } })).JobId;
                    running.Add((id, (await client.PsAsync(new PsRequest { JobId = id })).Status.Pid));
                }
                catch (RpcException e)
                {
                    refused = e;
                }
            }

            Assert.NotNull(refused);
            Assert.True(running.Count >= 10, $"only {running.Count} jobs started before: {refused}");
            Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
            Assert.Contains("the node has no room for another job now", refused.Status.Detail);
            Assert.Contains($"this server may hold {OpenFiles} open files", refused.Status.Detail);

            // The jobs already started go on, and are answered for.
            foreach (var (id, pid) in running)
            {
                Assert.Equal(JobState.Running, (await client.PsAsync(new PsRequest { JobId = id })).Status.State);
                Assert.True(Processes.IsAlive(pid), $"job {id} (pid {pid}) is gone");
            }

            // Room comes back as jobs end: two killed, one more starts (once their sockets are closed).
            for (int i = 0; i < 2; i++)
            {
                var (id, _) = running[^1];
                running.RemoveAt(running.Count - 1);
                await client.KillAsync(new KillRequest { JobId = id, Grace = new() });
            }

            var deadline = DateTime.UtcNow.AddSeconds(30);
            string? again = null;
            while (again is null)
            {
                try
                {
                    again = (await client.RunAsync(new RunRequest { Command = "sleep", Args = { "600" } })).JobId;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(200);
                }
            }

            running.Add((again, (await client.PsAsync(new PsRequest { JobId = again })).Status.Pid));
        }
        finally
        {
            foreach (var (id, _) in running)
            {
                await client.KillAsync(new KillRequest { JobId = id, Grace = new() });
            }
        }

        // Nothing is left of the jobs, the refused starts included (they never had a process).
        Assert.All(running, job => Assert.False(Processes.IsAlive(job.Pid), $"job {job.Id} (pid {job.Pid}) is still running"));
    }
}
