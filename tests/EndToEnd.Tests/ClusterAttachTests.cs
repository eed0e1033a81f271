using Jobs.Protos;

namespace Jobs.EndToEnd.Tests;

/// <summary>Attach in a cluster: through any gateway, to a job on any node.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class ClusterAttachTests(SharedClusterFixture fixture)
{
    [Fact(Timeout = 120_000)]
    public async Task A_job_on_either_node_is_attached_through_either_gateway()
    {
        var cluster = fixture.Cluster;
        await using var second = await cluster.StartAnotherGatewayAsync("n2");
        var (first, firstChannel) = GrpcClients.Create(cluster.Endpoint, GrpcClients.Client1);
        var (other, otherChannel) = GrpcClients.Create(second.Endpoint, GrpcClients.Client1);
        using (firstChannel)
        using (otherChannel)
        {
            foreach (string node in RedisCluster.NodeNames)
            {
                foreach (var (started, attached) in new[] { (first, other), (other, first) })
                {
                    string id = (await started.RunAsync(new RunRequest
                    {
                        Command = "sh",
                        Args = { "-c", "read line; echo \"$line on $(hostname) done\"; exit 4" },
                        Node = node,
                        Terminal = new TerminalSize { Rows = 24, Columns = 80 },
                    })).JobId;
                    await using var attach = await AttachCall.StartAsync(attached, id);

                    await attach.SendAsync($"typed for {node}\r");
                    var end = await attach.FinishAsync();

                    Assert.Equal(node, end?.Node);
                    Assert.Equal((JobState.Exited, 4), (end?.State, end?.ExitCode));
                    Assert.Contains($"typed for {node} on ", attach.StdoutText);
                }
            }
        }
    }
}
