namespace Jobs.EndToEnd.Tests;

[CollectionDefinition(Name)]
public sealed class SharedClusterCollection : ICollectionFixture<SharedClusterFixture>, ICollectionFixture<RedisInstalled>
{
    public const string Name = "shared cluster";
}
