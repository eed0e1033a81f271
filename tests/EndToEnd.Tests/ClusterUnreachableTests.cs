using Grpc.Core;
using Jobs.Protos;
using Xunit.Abstractions;

namespace Jobs.EndToEnd.Tests;

/// <summary>A split gateway whose silo is gone: every call says the server is unavailable (or did not answer in time), never INTERNAL.</summary>
public sealed class ClusterUnreachableTests(ITestOutputHelper output)
{
    [Fact(Timeout = 240_000)]
    public async Task A_gateway_whose_silo_is_stopped_answers_unavailable_not_internal()
    {
        int siloPort = FreePorts.Next();
        int gatewayPort = FreePorts.Next();
        await using var silo = await ServerProcess.StartSiloAsync(siloPort, gatewayPort);
        await using var gateway = await ServerProcess.StartRemoteGatewayAsync(gatewayPort);
        var (client, channel) = GrpcClients.Create(gateway.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            var run = new RunRequest { Command = "sleep" };
            run.Args.Add("600");
            string id = (await client.RunAsync(run, deadline: DateTime.UtcNow.AddSeconds(30))).JobId;

            await silo.StopAsync(TimeSpan.FromSeconds(60));
            var calls = new (string Name, Func<Task> Call)[]
            {
                ("Ps", async () => await client.PsAsync(new PsRequest { JobId = id }, deadline: DateTime.UtcNow.AddSeconds(60))),
                ("Run", async () => await client.RunAsync(run, deadline: DateTime.UtcNow.AddSeconds(60))),
                ("List", async () => await client.ListAsync(new ListRequest(), deadline: DateTime.UtcNow.AddSeconds(60))),
                ("Kill", async () => await client.KillAsync(new KillRequest { JobId = id }, deadline: DateTime.UtcNow.AddSeconds(60))),
                ("Nodes", async () => await client.NodesAsync(new NodesRequest(), deadline: DateTime.UtcNow.AddSeconds(60))),
            };
            var statuses = new List<string>();
            foreach (var (name, call) in calls)
            {
                var error = await Assert.ThrowsAsync<RpcException>(call);
                statuses.Add($"{name}: {error.StatusCode} {error.Status.Detail}");
            }

            string all = string.Join("\n", statuses);
            output.WriteLine(all);
            Assert.True(statuses.All(s => s.Contains(": Unavailable ", StringComparison.Ordinal) || s.Contains(": DeadlineExceeded ", StringComparison.Ordinal)), all);
            // Once the client knows its silo is gone, the answer says what is unreachable.
            Assert.True(statuses.Any(s => s.Contains("Unavailable server unavailable", StringComparison.Ordinal)), all + "\n" + gateway.Log[^Math.Min(gateway.Log.Length, 6000)..]);
            Assert.False(gateway.HasExited, "the gateway exited when its silo stopped");
        }
    }
}
