using System.Net.Security;
using System.Security.Authentication;
using Grpc.Net.Client;
using JobsClient = Jobs.Protos.Jobs.JobsClient;

namespace Jobs.Client.Connection;

/// <summary>
/// The mutual-TLS gRPC channel to the Gateway and its client; the one place where connections are
/// made, shared by every command.
/// </summary>
internal sealed class JobsConnection : IDisposable
{
    // Without it an unreachable host that drops packets would hang for the OS's SYN timeout (minutes).
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    private readonly TlsCredentials _credentials;
    private readonly HttpMessageHandler _handler;
    private readonly GrpcChannel _channel;

    private JobsConnection(TlsCredentials credentials, HttpMessageHandler handler, GrpcChannel channel)
    {
        _credentials = credentials;
        _handler = handler;
        _channel = channel;
        Client = new JobsClient(channel);
    }

    public JobsClient Client { get; }

    /// <summary>Reads the credentials and sets up the channel; no network traffic until the first call.</summary>
    /// <exception cref="CliException">With <see cref="ExitCodes.Usage"/> when a credential file is unreadable.</exception>
    public static JobsConnection Open(ConnectionSettings settings)
    {
        SystemTrustStore.DisableForThisProcess();
        var credentials = TlsCredentials.Load(settings.CertPath, settings.KeyPath, settings.ServerCaPath);
        var validator = new ServerCertificateValidator(credentials.ServerCa, settings.ServerCaPath);

        var sockets = new SocketsHttpHandler
        {
            ConnectTimeout = ConnectTimeout,

            // Followed output is one long download: a large window keeps the server from waiting
            // for window updates between 64 KiB chunks.
            InitialHttp2StreamWindowSize = 16 * 1024 * 1024,
            SslOptions =
            {
                EnabledSslProtocols = SslProtocols.Tls13,
                // The chain sent with the client certificate is the one in its file: the system
                // store, where SslStream would otherwise look for intermediates, is out of reach.
                ClientCertificateContext = SslStreamCertificateContext.Create(credentials.ClientCertificate, credentials.Intermediates, offline: true),
                RemoteCertificateValidationCallback = validator.Validate,
                // The handshake's chain check, whose verdict the validator takes, uses --server-ca
                // alone (the validator refuses any other trust).
                CertificateChainPolicy = validator.Policy(),
            },
        };

        HttpMessageHandler handler = string.Equals(settings.Domain, settings.Endpoint.IdnHost, StringComparison.OrdinalIgnoreCase)
            ? sockets
            : new ServerNameHandler(settings.Domain, settings.Endpoint.Port, sockets);

        var channel = GrpcChannel.ForAddress(settings.Endpoint, new GrpcChannelOptions
        {
            HttpHandler = handler,
        });

        return new JobsConnection(credentials, handler, channel);
    }

    public void Dispose()
    {
        _channel.Dispose();
        _handler.Dispose();
        _credentials.Dispose();
    }
}
