using System.Text.RegularExpressions;
using Jobs.TestSupport;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// The server's Orleans ports attacked as a local user would: a stock Orleans client, with nothing
/// of the project's but the grain interface, asking to run a command as the admin.
/// </summary>
public sealed partial class OrleansPortTests(OrleansDeployments servers) : IClassFixture<OrleansDeployments>
{
    public static TheoryData<string, string> PortsAndRefusedCredentials()
    {
        var data = new TheoryData<string, string>();
        foreach (string port in OrleansDeployments.PortNames)
        {
            foreach (var credential in OrleansCredential.Refused)
            {
                data.Add(port, credential.Name);
            }
        }

        return data;
    }

    [Fact(Timeout = 60_000)]
    public async Task The_one_command_server_listens_on_its_grpc_port_and_its_mutual_TLS_silo_port_and_no_other()
    {
        // No Orleans client gateway: the gateway in the same process calls grains without one.
        Assert.Equal(new SortedSet<int> { servers.Combined.Port, servers.CombinedSiloPort }, await PortsOfAsync(servers.Combined));
    }

    [Fact(Timeout = 60_000)]
    public async Task The_split_silo_listens_on_its_silo_and_gateway_ports_and_the_gateway_on_its_grpc_port_only()
    {
        Assert.Equal(new SortedSet<int> { servers.SplitSiloPort, servers.SplitGatewayPort }, await PortsOfAsync(servers.Silo));
        Assert.Equal(new SortedSet<int> { servers.RemoteGateway.Port }, await PortsOfAsync(servers.RemoteGateway));
    }

    // A scan of /proc, off the test's thread so its timeout holds.
    private static async Task<SortedSet<int>> PortsOfAsync(ServerProcess server) =>
        new(await Task.Run(() => ListeningSockets.PortsOf(server.Pid)));

    [Fact(Timeout = 120_000)]
    public async Task A_stock_Orleans_client_without_a_cluster_certificate_runs_nothing_through_any_Orleans_port()
    {
        // Every port with every refused credential at once: a refused Orleans 10 client retries until
        // it is given up on, so each attempt takes its whole allowance.
        var attacks = PortsAndRefusedCredentials().Select(row => (Port: (string)row[0], Credential: (string)row[1], Marker: Path.Combine(Path.GetTempPath(), $"jobs-attack-{Guid.NewGuid():N}"))).ToList();

        try
        {
            var outcomes = await Task.WhenAll(attacks.Select(a => StockOrleansClient.TryRunAsync(servers.Port(a.Port), OrleansCredential.ByName(a.Credential), a.Marker)));

            await Task.Delay(TimeSpan.FromSeconds(1));
            for (int i = 0; i < attacks.Count; i++)
            {
                Assert.True(outcomes[i] is not null, $"a job was started through the {attacks[i].Port} with {attacks[i].Credential}");
                Assert.False(File.Exists(attacks[i].Marker), $"the command ran through the {attacks[i].Port} with {attacks[i].Credential}");
            }
        }
        finally
        {
            // Should an attack get through, it leaves nothing behind either.
            attacks.ForEach(a => File.Delete(a.Marker));
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task The_same_client_with_the_gateway_cluster_certificate_reaches_the_split_silo()
    {
        // The control for the refusals above: what they lack is the certificate, nothing else.
        string marker = Path.Combine(Path.GetTempPath(), $"jobs-attack-{Guid.NewGuid():N}");
        try
        {
            var failure = await StockOrleansClient.TryRunAsync(servers.SplitGatewayPort, OrleansCredential.ClusterGateway, marker);

            Assert.Null(failure);
            await WaitForAsync(() => File.Exists(marker), TimeSpan.FromSeconds(20));
        }
        finally
        {
            File.Delete(marker);
        }
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(PortsAndRefusedCredentials))]
    public async Task The_TLS_handshake_itself_refuses_a_peer_without_a_cluster_certificate(string port, string credential)
    {
        var bringing = OrleansCredential.ByName(credential);
        if (!bringing.Tls)
        {
            // Plain TCP cannot make a handshake: what the server does with it is the case above.
            Assert.False(bringing.Tls);
            return;
        }

        Assert.False(await StockOrleansClient.HandshakeAcceptedAsync(servers.Port(port), bringing.Certificate), $"{port} accepted {credential}");
    }

    [Fact(Timeout = 60_000)]
    public async Task The_silo_port_takes_only_silos_and_the_gateway_port_takes_the_gateway_certificate()
    {
        var gateway = OrleansCredential.ClusterGateway.Certificate;

        Assert.False(await StockOrleansClient.HandshakeAcceptedAsync(servers.SplitSiloPort, gateway));
        Assert.False(await StockOrleansClient.HandshakeAcceptedAsync(servers.CombinedSiloPort, gateway));
        Assert.True(await StockOrleansClient.HandshakeAcceptedAsync(servers.SplitGatewayPort, gateway));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_refused_peer_is_logged_once_with_its_address_and_why_not_once_per_retry()
    {
        // From an address of its own, so no other test's attempts share its log lines.
        var peer = System.Net.IPAddress.Parse("127.0.0.2");
        foreach (string port in OrleansDeployments.PortNames)
        {
            for (int attempt = 0; attempt < 3; attempt++)
            {
                Assert.False(await StockOrleansClient.HandshakeAcceptedAsync(servers.Port(port), OrleansCredential.ClientCaCertificate.Certificate, peer));
            }
        }

        foreach (string port in OrleansDeployments.PortNames)
        {
            string place = port.EndsWith("silo port", StringComparison.Ordinal) ? "silo port" : "gateway port";
            string log = servers.LogOf(port);
            var refusals = RefusalLine().Matches(log).Where(m => m.Groups["place"].Value == place && m.Groups["peer"].Value.StartsWith("127.0.0.2:", StringComparison.Ordinal)).ToList();
            Assert.True(refusals.Count == 1, $"{refusals.Count} refusal lines from 127.0.0.2 on the {port}:\n{log}");
            Assert.Contains("(CN=client1, issuer CN=Jobs Dev Client CA) does not chain to the cluster CA", log[refusals[0].Index..]);
        }
    }

    private static async Task WaitForAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting");
            await Task.Delay(100);
        }
    }

    [GeneratedRegex(@"Refused an Orleans connection \((?<place>[a-z ]+)\) with (?<peer>\S+):")]
    private static partial Regex RefusalLine();
}
