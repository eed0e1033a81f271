using Xunit.Abstractions;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// One <see cref="RedisCluster"/> shared by the cluster tests that neither kill nor drain a node.
/// It installs redis-server first where the machine lacks it, itself rather than through a second
/// collection fixture: xunit starts collection fixtures together, and two failing with the same
/// missing program would give every test two copies of the message.
/// </summary>
public sealed class SharedClusterFixture(IMessageSink diagnostics) : IAsyncLifetime
{
    public RedisCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await new RedisInstalled(diagnostics).InitializeAsync();
        Cluster = await RedisCluster.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }
    }
}
