using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;

namespace Jobs.Bench;

/// <summary>
/// gRPC channels as a third-party client builds them: TLS 1.3, the client1 certificate, the server CA as
/// the only trust root, HTTP/2 with more connections allowed when one's streams are used up.
/// </summary>
internal sealed class GrpcClients : IDisposable
{
    private readonly X509Certificate2 _serverCa;
    private readonly X509Certificate2 _client;
    private readonly int? _window;
    private readonly List<GrpcChannel> _channels = [];

    public GrpcClients(BenchPaths paths, int? window)
    {
        _serverCa = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(paths.Certs, "server_ca.pem")));
        _client = X509Certificate2.CreateFromPemFile(Path.Combine(paths.Certs, "client1.pem"), Path.Combine(paths.Certs, "client1.key"));
        _window = window;
    }

    /// <summary>A client on a channel (and connections) of its own.</summary>
    public JobsClient Create(string endpoint)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            SslOptions =
            {
                EnabledSslProtocols = SslProtocols.Tls13,
                ClientCertificates = [_client],
                RemoteCertificateValidationCallback = Validate,
            },
        };
        if (_window is { } window)
        {
            handler.InitialHttp2StreamWindowSize = window;
        }

        var channel = GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = 64 * 1024 * 1024,
        });
        lock (_channels)
        {
            _channels.Add(channel);
        }

        return new JobsClient(channel);
    }

    public void Dispose()
    {
        lock (_channels)
        {
            foreach (var channel in _channels)
            {
                channel.Dispose();
            }

            _channels.Clear();
        }

        _client.Dispose();
        _serverCa.Dispose();
    }

    private bool Validate(object sender, X509Certificate? certificate, X509Chain? defaultChain, SslPolicyErrors errors)
    {
        // The name must match (127.0.0.1 is in the dev certificate); the chain is checked against our CA alone.
        if ((errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None || certificate is not X509Certificate2 server)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_serverCa);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(server);
    }
}
