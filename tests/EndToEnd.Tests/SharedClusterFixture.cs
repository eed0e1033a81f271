namespace Jobs.EndToEnd.Tests;

/// <summary>One <see cref="RedisCluster"/> shared by the cluster tests that neither kill nor drain a node.</summary>
public sealed class SharedClusterFixture : IAsyncLifetime
{
    public RedisCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await RedisCluster.StartAsync();

    public async Task DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }
    }
}
