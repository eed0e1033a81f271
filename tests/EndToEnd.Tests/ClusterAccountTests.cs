using System.Text;
using Grpc.Core;
using Jobs.Protos;
using Jobs.TestSupport;
using Xunit.Sdk;

namespace Jobs.EndToEnd.Tests;

/// <summary>The uid of an identity's own on a <see cref="RedisCluster"/>: one per identity, the same on every node, kept in Redis across a restart of every silo.</summary>
public sealed class ClusterAccountTests : IClassFixture<RedisInstalled>
{
    // A range of one uid: a second identity finds none left, so an answer after the restart shows what Redis kept.
    private const uint Uid = 61300;

    [Needs("root", Timeout = 240_000)]
    public async Task An_identitys_uid_is_the_same_on_every_node_and_after_every_silo_restarted()
    {
        string[] range = [$"--Jobs:Accounts:FirstDynamicUid={Uid}", $"--Jobs:Accounts:LastDynamicUid={Uid}"];
        await using var cluster = await RedisCluster.StartAsync(RedisCluster.NodeNames.ToDictionary(n => n, _ => range));
        try
        {
            string first = await UidAsync(cluster.Endpoint, GrpcClients.Client1, "n1");
            string second = await UidAsync(cluster.Endpoint, GrpcClients.Client1, "n2");
            var none = await Assert.ThrowsAsync<RpcException>(() => UidAsync(cluster.Endpoint, GrpcClients.Client2, "n2"));

            // Every silo stops, then starts again on the same Redis; a new gateway reaches them.
            foreach (string node in RedisCluster.NodeNames)
            {
                await cluster.StopSiloAsync(node, TimeSpan.FromSeconds(30));
            }

            foreach (string node in RedisCluster.NodeNames)
            {
                await cluster.RestartSiloAsync(node);
            }

            await using var gateway = await cluster.StartAnotherGatewayAsync("n2");
            await cluster.WaitForNodesAsync(
                nodes => RedisCluster.NodeNames.All(name => nodes.Any(n => n.Name == name && n.Status == NodeStatus.Active && n.Answered)), TimeSpan.FromSeconds(60));

            // client2 asks first: had the registry forgotten client1, client2 would get the uid now.
            var stillNone = await Assert.ThrowsAsync<RpcException>(() => UidAsync(gateway.Endpoint, GrpcClients.Client2, "n2"));
            string afterRestart = await UidAsync(gateway.Endpoint, GrpcClients.Client1, "n2");

            Assert.Equal([$"{Uid}", $"{Uid}", $"{Uid}"], [first, second, afterRestart]);
            foreach (var refusal in new[] { none, stillNone })
            {
                Assert.Equal(StatusCode.FailedPrecondition, refusal.StatusCode);
                Assert.Contains($"no uid is left for 'client2': all 1 of {Uid}..{Uid} belong to other identities", refusal.Status.Detail, StringComparison.Ordinal);
            }
        }
        catch (XunitException e) when (!e.Message.Contains(RedisCluster.LogsHeader, StringComparison.Ordinal))
        {
            throw new XunitException($"{e.Message}\n{cluster.Logs}", e);
        }
    }

    // What "id -u" prints in a job of this identity on this node.
    private static async Task<string> UidAsync(string endpoint, System.Security.Cryptography.X509Certificates.X509Certificate2 identity, string node)
    {
        var (client, channel) = GrpcClients.Create(endpoint, identity);
        using (channel)
        {
            string id = (await client.RunAsync(new RunRequest { Command = "id", Args = { "-u" }, Node = node }, deadline: DateTime.UtcNow.AddSeconds(30))).JobId;
            var (output, end) = await HealthyServer.ReadAllAsync(client, id, TimeSpan.FromSeconds(30));
            Assert.Equal((node, JobState.Exited), (end.Node, end.State));
            return Encoding.UTF8.GetString(output).Trim();
        }
    }
}
