using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Jobs.Gateway.Security;

/// <summary>Kestrel for the gateway: one HTTP/2 endpoint, TLS 1.3 only, client certificate required.</summary>
public static class MutualTls
{
    /// <summary>TLS 1.3 suites in the order the server prefers them.</summary>
    public static readonly IReadOnlyList<TlsCipherSuite> CipherSuites =
    [
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
    ];

    /// <summary>Listens on the configured address with mutual TLS; fails at start on a bad address or certificate.</summary>
    public static void UseMutualTls(this WebApplicationBuilder builder, GatewayOptions options)
    {
        if (!IPEndPoint.TryParse(options.Listen, out var endpoint))
        {
            throw new InvalidOperationException($"Gateway:Listen '{options.Listen}' is not an address:port");
        }

        var serverCertificate = PemCertificates.LoadWithKey(options.Certificate, options.Key);
        var validator = new ClientCertificateValidator(PemCertificates.LoadAll(options.ClientCa));

        // Windows (SChannel) does not let a process choose cipher suites; it uses the OS policy.
        var cipherPolicy = OperatingSystem.IsWindows() ? null : new CipherSuitesPolicy(CipherSuites);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(endpoint, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                listen.UseHttps(https =>
                {
                    https.ServerCertificate = serverCertificate;
                    https.SslProtocols = SslProtocols.Tls13;
                    https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                    https.CheckCertificateRevocation = false;
                    https.ClientCertificateValidation = (certificate, _, _) => validator.IsValid(certificate);
                    if (cipherPolicy is not null)
                    {
                        https.OnAuthenticate = (_, ssl) => ssl.CipherSuitesPolicy = cipherPolicy;
                    }
                });
            });
        });
    }

    /// <summary>What the start-up log says about the endpoint.</summary>
    public static string Describe(GatewayOptions options) =>
        $"Jobs gateway listening on {options.Listen}: HTTP/2, TLS 1.3 only, client certificate required (CA {options.ClientCa}); " +
        "cipher suites in priority order: " +
        (OperatingSystem.IsWindows() ? "the OS policy (Windows does not let a process choose)" : string.Join(", ", CipherSuites));
}
