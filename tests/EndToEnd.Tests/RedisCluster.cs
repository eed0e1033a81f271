using System.Text;
using Grpc.Core;
using Jobs.Protos;
using Jobs.TestSupport;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// A real cluster of processes: a Redis server of its own, Silo processes n1 and n2 clustered
/// through it (each with its own cluster id), and a remote Gateway that finds them through Redis,
/// all on free loopback ports. Redis requires a password, which the nodes read from a file of
/// their own (<c>Orleans:RedisPasswordFile</c>), as a production cluster does. Disposing ends every
/// process and the Redis server (so every key) and deletes the password file.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable
{
    public static readonly IReadOnlyList<string> NodeNames = ["n1", "n2"];

    /// <summary>What <see cref="Logs"/> starts with, so a message that carries them already is not given them twice.</summary>
    public const string LogsHeader = "===== logs of the cluster =====";

    private static readonly TimeSpan FormTimeout = TimeSpan.FromSeconds(90);
    private readonly Dictionary<string, ServerProcess> _silos = [];
    private readonly Dictionary<string, int> _siloPorts = [];
    private readonly List<ServerProcess> _ended = [];
    private readonly string _secrets;
    private bool _disposed;

    private RedisCluster(RedisServer redis, string secrets)
    {
        Redis = redis;
        _secrets = secrets;
    }

    public RedisServer Redis { get; }

    /// <summary>The file the nodes read Redis's password from (mode 0600).</summary>
    public string PasswordFile => Path.Combine(_secrets, "redis.password");

    public string ClusterId { get; } = $"test-{Guid.NewGuid():N}";

    public string ServiceId { get; } = "jobs-tests";

    public ServerProcess Gateway { get; private set; } = null!;

    /// <summary>The gateway's gRPC endpoint, as the CLI's <c>--endpoint</c> takes it.</summary>
    public string Endpoint => Gateway.Endpoint;

    /// <summary>The Silo process of a node now (a restart replaces it).</summary>
    public ServerProcess Silo(string node) => _silos[node];

    /// <summary>The address the node's silo advertises: 127.0.0.1 and its silo port.</summary>
    public string SiloAddress(string node) => $"127.0.0.1:{_siloPorts[node]}";

    /// <summary>
    /// Starts Redis, the silos (extra arguments per node name, such as <c>--Jobs:DrainTimeout=00:00:05</c>)
    /// and the gateway, and waits until the gateway lists every node as active. Whatever started is
    /// ended again if a later step fails.
    /// </summary>
    public static async Task<RedisCluster> StartAsync(IReadOnlyDictionary<string, string[]>? siloArgs = null)
    {
        string password = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var cluster = new RedisCluster(await RedisServer.StartAsync(FreePorts.Next(), password), Directory.CreateTempSubdirectory("jobs-cluster-secrets-").FullName);
        try
        {
            await File.WriteAllTextAsync(cluster.PasswordFile, password + "\n");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(cluster.PasswordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            await Task.WhenAll(NodeNames.Select(node => cluster.StartSiloAsync(node, siloArgs?.GetValueOrDefault(node) ?? [])));
            cluster.Gateway = await ServerProcess.StartRemoteGatewayAsync(cluster.SiloGatewayPorts[NodeNames[0]], cluster.ClusteringArgs());
            await cluster.WaitForNodesAsync(nodes => NodeNames.All(name => nodes.Any(n => n.Name == name && n.Status == NodeStatus.Active && n.Answered)), FormTimeout);
            return cluster;
        }
        catch (Exception e)
        {
            string logs = cluster.Logs;
            await cluster.DisposeAsync();
            throw new InvalidOperationException($"the cluster did not form: {e.Message}\n{logs}", e);
        }
    }

    /// <summary>Kills a node's Silo process alone with SIGKILL, as a crash or an OOM kill would end it.</summary>
    public Task KillSiloAsync(string node) => _silos[node].KillHardAsync();

    /// <summary>Stops a node's Silo process with SIGTERM and waits for it to exit.</summary>
    public Task StopSiloAsync(string node, TimeSpan timeout) => _silos[node].StopAsync(timeout);

    /// <summary>
    /// Starts a node's silo again, with the same name, ports and arguments, after it exited. It may be
    /// listed as active some seconds before it answers (after a crash Orleans' grain directory holds
    /// its range under a lease): wait for <see cref="Node.Answered"/> before giving it jobs.
    /// </summary>
    public async Task RestartSiloAsync(string node)
    {
        var old = _silos[node];
        _silos[node] = await old.StartAgainAsync();
        _ended.Add(old);
    }

    /// <summary>The gateway's answer to Nodes, asked as client1.</summary>
    public async Task<IReadOnlyList<Node>> NodesAsync(CancellationToken cancellationToken = default)
    {
        var (client, channel) = GrpcClients.Create(Endpoint, GrpcClients.Client1);
        using (channel)
        {
            var response = await client.NodesAsync(new NodesRequest(), deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);
            return response.Nodes;
        }
    }

    /// <summary>
    /// A job's status through the gateway's gRPC Ps, asked as client1: quicker than a CLI process,
    /// for checks on the side of what a test drives through the CLI.
    /// </summary>
    public async Task<JobStatus> PsAsync(string jobId, CancellationToken cancellationToken = default)
    {
        var (client, channel) = GrpcClients.Create(Endpoint, GrpcClients.Client1);
        using (channel)
        {
            var response = await client.PsAsync(new PsRequest { JobId = jobId }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
            return response.Status;
        }
    }

    /// <summary>Asks Nodes until <paramref name="condition"/> holds; the nodes then. Fails with the last answer (or error) and every log.</summary>
    public async Task<IReadOnlyList<Node>> WaitForNodesAsync(Func<IReadOnlyList<Node>, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string last = "no answer yet";
        while (true)
        {
            try
            {
                var nodes = await NodesAsync();
                if (condition(nodes))
                {
                    return nodes;
                }

                last = string.Join("; ", nodes.Select(n => $"{n.Name} {n.Address} {n.Status} accepts={n.AcceptsJobs} running={n.RunningJobs}"));
            }
            catch (RpcException e)
            {
                last = $"{e.StatusCode}: {e.Status.Detail}";
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the nodes were not as expected within {timeout}; last answer: {last}\n{Logs}");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>Every process's log, and Redis's, under headers, for failure messages.</summary>
    public string Logs
    {
        get
        {
            var text = new StringBuilder().AppendLine(LogsHeader);
            foreach (var (node, silo) in _silos)
            {
                text.Append("===== silo ").Append(node).Append(" (pid ").Append(silo.Pid).AppendLine(") =====").Append(silo.Log);
            }

            foreach (var silo in _ended)
            {
                text.Append("===== earlier silo (pid ").Append(silo.Pid).AppendLine(") =====").Append(silo.Log);
            }

            if (Gateway is not null)
            {
                text.Append("===== gateway (pid ").Append(Gateway.Pid).AppendLine(") =====").Append(Gateway.Log);
            }

            return text.Append("===== redis =====\n").Append(Redis.Log).ToString();
        }
    }

    /// <summary>Every process the cluster started and may still hold: Redis, the silos (earlier ones too) and the gateway.</summary>
    public IReadOnlyList<int> Pids =>
        [Redis.Pid, .. _silos.Values.Select(s => s.Pid), .. _ended.Select(s => s.Pid), .. Gateway is null ? Array.Empty<int>() : [Gateway.Pid]];

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        // The gateway first, so it does not log every silo leaving; Redis last, as the silos may write to it as they go.
        var processes = new List<ServerProcess>();
        if (Gateway is not null)
        {
            processes.Add(Gateway);
        }

        processes.AddRange(_silos.Values);
        processes.AddRange(_ended);
        foreach (var process in processes)
        {
            await process.DisposeAsync();
        }

        await Redis.DisposeAsync();
        Directory.Delete(_secrets, recursive: true);
    }

    /// <summary>
    /// Starts one more remote gateway of this cluster, first reaching it through <paramref name="node"/>'s
    /// silo; the caller disposes it (before the cluster).
    /// </summary>
    public Task<ServerProcess> StartAnotherGatewayAsync(string node) => ServerProcess.StartRemoteGatewayAsync(SiloGatewayPorts[node], ClusteringArgs());

    private Dictionary<string, int> SiloGatewayPorts { get; } = [];

    private string[] ClusteringArgs() =>
    [
        "--Orleans:Clustering=Redis",
        $"--Orleans:Redis={Redis.ConnectionString}",
        $"--Orleans:RedisPasswordFile={PasswordFile}",
        $"--Orleans:ClusterId={ClusterId}",
        $"--Orleans:ServiceId={ServiceId}",
        // Times on every line, to line the processes' logs up with each other and with the test's output.
        "--Logging:Console:FormatterOptions:TimestampFormat=HH:mm:ss.fff ",
    ];

    private async Task StartSiloAsync(string node, string[] extraArgs)
    {
        int siloPort = FreePorts.Next();
        int gatewayPort = FreePorts.Next();
        lock (_siloPorts)
        {
            _siloPorts[node] = siloPort;
            SiloGatewayPorts[node] = gatewayPort;
        }

        var silo = await ServerProcess.StartSiloAsync(siloPort, gatewayPort, [.. ClusteringArgs(), "--Orleans:AdvertisedAddress=127.0.0.1", $"--Orleans:NodeName={node}", .. extraArgs]);
        lock (_silos)
        {
            _silos[node] = silo;
        }
    }
}
