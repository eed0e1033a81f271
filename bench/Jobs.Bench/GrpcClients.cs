using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;

namespace Jobs.Bench;

/// <summary>
/// gRPC channels as a third-party client builds them: TLS 1.3, the client1 certificate, the server CA as
/// the only trust root and the name checked (<see cref="GrpcTls"/>, as the tests set it up), HTTP/2 with more
/// connections allowed when one's streams are used up.
/// </summary>
internal sealed class GrpcClients : IDisposable
{
    private readonly X509Certificate2 _serverCa;
    private readonly X509Certificate2 _client;
    private readonly BenchPaths _paths;
    private readonly int? _window;
    private readonly List<GrpcChannel> _channels = [];

    public GrpcClients(BenchPaths paths, int? window)
    {
        _serverCa = GrpcTls.LoadPublic(paths.Certs, "server_ca");
        _client = GrpcTls.Load(paths.Certs, "client1");
        _paths = paths;
        _window = window;
    }

    /// <summary>A client on a channel (and connections) of its own, as client1 or the identity of <c>certs/NAME.pem</c>.</summary>
    public JobsClient Create(string endpoint, string? identity = null)
    {
        var handler = identity is null ? Handler() : Handler(GrpcTls.Load(_paths.Certs, identity));
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

    /// <summary>The HTTP handler under each channel, for a client that writes its own HTTP/2 requests.</summary>
    public SocketsHttpHandler Handler() => Handler(_client);

    private SocketsHttpHandler Handler(X509Certificate2 client)
    {
        var handler = GrpcTls.Handler(_serverCa, client, checkServerName: true);
        handler.EnableMultipleHttp2Connections = true;
        handler.ConnectTimeout = TimeSpan.FromSeconds(10);
        return handler;
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
}
