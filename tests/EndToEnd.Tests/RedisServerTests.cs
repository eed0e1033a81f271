using Jobs.TestSupport;
using StackExchange.Redis;

namespace Jobs.EndToEnd.Tests;

/// <summary>The tests' own Redis server, which the cluster tests stand on.</summary>
public sealed class RedisServerTests : IClassFixture<RedisInstalled>
{
    [Fact(Timeout = 60_000)]
    public async Task A_redis_server_of_its_own_lists_and_deletes_keys_and_goes_away_with_its_folder()
    {
        var redis = await RedisServer.StartAsync(FreePorts.Next());
        int pid = redis.Pid;
        string folder = redis.Folder;
        try
        {
            using (var client = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString))
            {
                var db = client.GetDatabase();
                await db.StringSetAsync("svc/members/c1", "a");
                await db.StringSetAsync("svc/members/c2", "b");
                await db.StringSetAsync("other", "c");
            }

            Assert.Equal(["svc/members/c1", "svc/members/c2"], (await redis.KeysAsync("svc/*")).Order());
            Assert.Equal(2, await redis.DeleteKeysAsync("*members*"));
            Assert.Equal(["other"], await redis.KeysAsync());
            Assert.Equal($"127.0.0.1:{redis.Port}", redis.ConnectionString);
            Assert.True(Directory.Exists(folder));
        }
        finally
        {
            await redis.DisposeAsync();
        }

        Assert.False(Processes.IsAlive(pid));
        Assert.False(Directory.Exists(folder));
    }
}
