using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Jobs.Silo.Security;

namespace Jobs.Gateway.Security;

/// <summary>Kestrel for the gateway: one HTTP/2 endpoint, TLS 1.3 only, client certificate required.</summary>
public static class MutualTls
{
    /// <summary>
    /// Listens on the configured address with mutual TLS; fails at start on a bad address or
    /// certificate, or a key file other users can read. Returns a warning to log when such a key
    /// file is allowed (<c>Gateway:AllowReadableKey</c>).
    /// </summary>
    public static string? UseMutualTls(this WebApplicationBuilder builder, GatewayOptions options)
    {
        if (!IPEndPoint.TryParse(options.Listen, out var endpoint))
        {
            throw new InvalidOperationException($"Gateway:Listen '{options.Listen}' is not an address:port");
        }

        string? warning = PemCertificates.CheckKeyFile(options.Key, options.AllowReadableKey, "Gateway:AllowReadableKey");
        var serverCertificate = PemCertificates.LoadWithKey(options.Certificate, options.Key);
        if (!PemCertificates.AllowsUsage(serverCertificate, PemCertificates.ServerAuthentication))
        {
            throw new InvalidOperationException($"the server certificate '{options.Certificate}' is not meant for TLS servers (no serverAuth extended key usage)");
        }

        var validator = new ClientCertificateValidator(PemCertificates.LoadAll(options.ClientCa));

        var cipherPolicy = Tls13.Policy();

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(endpoint, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                listen.Serve(GatewayListener.Grpc);
                listen.UseHttps(https =>
                {
                    https.ServerCertificate = serverCertificate;
                    https.SslProtocols = SslProtocols.Tls13;
                    https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                    // Kestrel's default, set here so it is seen: a socket that never finishes the
                    // handshake is closed after it (500 such sockets did not slow other clients).
                    // Shorter would fail real clients first: 200 CLIs started at once on 2 cores
                    // took several seconds each to finish their handshakes.
                    https.HandshakeTimeout = TimeSpan.FromSeconds(10);
                    https.CheckCertificateRevocation = false;
                    // The handshake builds the client's chain once, with the client CA alone (not the
                    // system store); the callback takes its verdict.
                    https.ClientCertificateValidation = (certificate, _, errors) => ClientCertificateValidator.IsValid(certificate, errors);
                    var chainPolicy = validator.Policy();
                    https.OnAuthenticate = (_, ssl) =>
                    {
                        ssl.CertificateChainPolicy = chainPolicy;
                        if (cipherPolicy is not null)
                        {
                            ssl.CipherSuitesPolicy = cipherPolicy;
                        }
                    };
                });
            });
        });
        return warning;
    }

    /// <summary>What the start-up log says about the endpoint.</summary>
    public static string Describe(GatewayOptions options) =>
        $"Jobs gateway listening on {options.Listen}: HTTP/2, TLS 1.3 only, client certificate required (CA {options.ClientCa}); " +
        "cipher suites in priority order: " + Tls13.Describe();
}
