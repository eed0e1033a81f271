namespace Jobs.EndToEnd.Tests;

/// <summary>Both deployments side by side, for tests that attack their Orleans ports: the one-command server, and a Silo with a Remote gateway.</summary>
public sealed class OrleansDeployments : IAsyncLifetime
{
    public ServerProcess Combined { get; private set; } = null!;

    public ServerProcess Silo { get; private set; } = null!;

    public ServerProcess RemoteGateway { get; private set; } = null!;

    public int CombinedSiloPort { get; } = FreePorts.Next();

    public int SplitSiloPort { get; } = FreePorts.Next();

    public int SplitGatewayPort { get; } = FreePorts.Next();

    /// <summary>Every Orleans port the two deployments open, by a name for test cases.</summary>
    public int Port(string name) => name switch
    {
        "one-command silo port" => CombinedSiloPort,
        "split silo port" => SplitSiloPort,
        "split gateway port" => SplitGatewayPort,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    /// <summary>The log of the process that owns the port of that name.</summary>
    public string LogOf(string name) => name.StartsWith("one-command", StringComparison.Ordinal) ? Combined.Log : Silo.Log;

    public static IReadOnlyList<string> PortNames { get; } = ["one-command silo port", "split silo port", "split gateway port"];

    public async Task InitializeAsync()
    {
        Combined = await ServerProcess.StartCombinedAsync($"--Orleans:SiloPort={CombinedSiloPort}");
        Silo = await ServerProcess.StartSiloAsync(SplitSiloPort, SplitGatewayPort);
        RemoteGateway = await ServerProcess.StartRemoteGatewayAsync(SplitGatewayPort);
    }

    public async Task DisposeAsync()
    {
        foreach (var server in new[] { RemoteGateway, Silo, Combined })
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }
        }
    }
}
