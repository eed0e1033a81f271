using Jobs.TestSupport;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// A cluster's Redis is where membership and every job's record live, and every job of every node
/// can reach it on the network: a silo or a gateway refuses to start on a Redis open to all, or on
/// a password that other local users could read. (A cluster that starts with a password file is
/// every test of <see cref="RedisCluster"/>; ClusterTests checks that no command line shows it.)
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class RedisAuthenticationTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("jobs-redis-auth-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory(Timeout = 120_000)]
    [InlineData("Jobs.Silo")]
    [InlineData("Jobs.Gateway")]
    public async Task A_node_refuses_to_start_on_a_Redis_without_a_password_unless_allowed_for_development(string program)
    {
        // Nothing listens there: the refusal comes before any connection.
        string[] redis = ["--Orleans:Clustering=Redis", $"--Orleans:Redis=127.0.0.1:{FreePorts.Next()}"];

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(program, redis));

        Assert.Contains("the server exited during start (code 1)", refused.Message);
        Assert.Contains(
            "the cluster's Redis (Orleans:Redis) has no password or ACL user: whoever reaches it, every job of every node included, could rewrite "
            + "the cluster's membership and every job's record. Give Redis a password (requirepass) and the nodes Orleans:RedisPasswordFile, "
            + "or set Orleans:AllowUnauthenticatedRedis=true for development",
            refused.Message);
    }

    [Theory(Timeout = 120_000)]
    [InlineData("Jobs.Silo")]
    [InlineData("Jobs.Gateway")]
    public async Task A_Redis_password_on_the_command_line_is_refused_without_being_repeated(string program)
    {
        string password = "secret-" + Guid.NewGuid().ToString("N");

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StartAsync(program, ["--Orleans:Clustering=Redis", $"--Orleans:Redis=127.0.0.1:{FreePorts.Next()},password={password}"]));

        Assert.Contains(
            "Orleans:Redis on the command line holds a password, which every local user can read in /proc/PID/cmdline: put the password in a "
            + "file named by Orleans:RedisPasswordFile, or the connection string in the environment (Orleans__Redis)",
            refused.Message);
        Assert.DoesNotContain(password, refused.Message);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_password_file_other_users_can_read_is_refused()
    {
        string file = Path.Combine(_folder, "redis.password");
        await File.WriteAllTextAsync(file, "secret\n");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StartAsync("Jobs.Silo", ["--Orleans:Clustering=Redis", $"--Orleans:Redis=127.0.0.1:{FreePorts.Next()}", $"--Orleans:RedisPasswordFile={file}"]));

        Assert.Contains($"Orleans:RedisPasswordFile '{file}' can be read or written by other users (mode 0644); run 'chmod 600 {file}'", refused.Message);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_missing_or_empty_password_file_is_refused()
    {
        string missing = Path.Combine(_folder, "missing.password");
        string empty = Path.Combine(_folder, "empty.password");
        await File.WriteAllTextAsync(empty, "\n");
        File.SetUnixFileMode(empty, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var noFile = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StartAsync("Jobs.Silo", ["--Orleans:Clustering=Redis", $"--Orleans:Redis=127.0.0.1:{FreePorts.Next()}", $"--Orleans:RedisPasswordFile={missing}"]));
        var noPassword = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StartAsync("Jobs.Silo", ["--Orleans:Clustering=Redis", $"--Orleans:Redis=127.0.0.1:{FreePorts.Next()}", $"--Orleans:RedisPasswordFile={empty}"]));

        Assert.Contains($"Jobs silo cannot start: Orleans:RedisPasswordFile '{missing}' does not exist or is not a file", noFile.Message);
        Assert.Contains($"Jobs silo cannot start: Orleans:RedisPasswordFile '{empty}' is empty; its first line is the secret", noPassword.Message);
    }

    private static Task<ServerProcess> StartAsync(string program, string[] args) => program == "Jobs.Silo"
        ? ServerProcess.StartSiloAsync(FreePorts.Next(), FreePorts.Next(), args)
        : ServerProcess.StartRemoteGatewayAsync(FreePorts.Next(), args);
}
