using System.Globalization;

namespace Jobs.Bench;

/// <summary>
/// The cluster's own <c>redis-server</c>: a free loopback port, no persistence, no configuration file, a
/// temporary <c>--dir</c> deleted with it. Nothing else uses it, so every key goes with it.
/// </summary>
internal sealed class RedisServer : IAsyncDisposable
{
    private const string Program = "redis-server";
    private const string ReadyLine = "Ready to accept connections";
    private const int Attempts = 3;

    private RedisServer(ServerProcess process, int port)
    {
        Process = process;
        Port = port;
    }

    public ServerProcess Process { get; }

    public int Port { get; }

    /// <summary>A StackExchange.Redis connection string, as <c>Orleans:Redis</c> takes it.</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <exception cref="ServerStartException">redis-server is not installed, or did not start.</exception>
    public static async Task<RedisServer> StartAsync(CancellationToken cancellationToken)
    {
        // A port found free may be taken before redis-server binds it: another one then.
        for (int attempt = 1; ; attempt++)
        {
            int port = FreePorts.Next();
            string folder = Directory.CreateTempSubdirectory("jobs-bench-redis-").FullName;
            string[] args = ["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", folder];
            try
            {
                var process = await ServerProcess.StartProgramAsync(Program, Program, args, ReadyLine, folder, folder, cancellationToken);
                return new RedisServer(process, port);
            }
            catch (ServerStartException e) when (attempt < Attempts && e.Message.Contains("Address already in use", StringComparison.Ordinal))
            {
                Report.Progress($"{Program}: port {port} was taken meanwhile, trying another");
            }
            catch (ServerStartException e) when (e.Message.StartsWith($"cannot start {Program}", StringComparison.Ordinal))
            {
                throw new ServerStartException($"{e.Message}: --cluster needs redis-server on PATH (Debian: apt-get install redis-server)");
            }
        }
    }

    public Task<string> StopAsync(TimeSpan grace) => Process.StopAsync(grace);

    public ValueTask DisposeAsync() => Process.DisposeAsync();
}
