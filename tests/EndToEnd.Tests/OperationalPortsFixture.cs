using System.Security.Cryptography.X509Certificates;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// One real server with the metrics and dashboard listeners on free loopback ports, and a deny list
/// that revokes one certificate of the real client CA.
/// </summary>
public sealed class OperationalPortsFixture : IAsyncLifetime
{
    private readonly string _denyList = Path.Combine(Path.GetTempPath(), $"jobs-deny-{Guid.NewGuid():N}.txt");

    public ServerProcess Server { get; private set; } = null!;

    public int MetricsPort { get; } = FreePorts.Next();

    public int DashboardPort { get; } = FreePorts.Next();

    public X509Certificate2 Revoked { get; } = GrpcClients.Mint("revoked-" + Guid.NewGuid().ToString("N")[..8]);

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(_denyList, Revoked.SerialNumber + "\n");
        Server = await ServerProcess.StartCombinedAsync(
            $"--Gateway:MetricsListen=127.0.0.1:{MetricsPort}",
            $"--Gateway:DashboardListen=127.0.0.1:{DashboardPort}",
            $"--Gateway:DenyList={_denyList}");
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Revoked.Dispose();
        File.Delete(_denyList);
    }
}
