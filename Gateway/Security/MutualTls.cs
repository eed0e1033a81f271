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

        string? warning = CheckKeyFile(options);
        var serverCertificate = PemCertificates.LoadWithKey(options.Certificate, options.Key);
        if (!PemCertificates.AllowsUsage(serverCertificate, PemCertificates.ServerAuthentication))
        {
            throw new InvalidOperationException($"the server certificate '{options.Certificate}' is not meant for TLS servers (no serverAuth extended key usage)");
        }

        var validator = new ClientCertificateValidator(PemCertificates.LoadAll(options.ClientCa));

        // Windows (SChannel) does not let a process choose cipher suites; it uses the OS policy.
        var cipherPolicy = OperatingSystem.IsWindows() ? null : new CipherSuitesPolicy(CipherSuites);

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

    // A private key others can read is a key others can use.
    private static string? CheckKeyFile(GatewayOptions options)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(options.Key))
        {
            return null;
        }

        var mode = File.GetUnixFileMode(options.Key);
        const UnixFileMode others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;
        if ((mode & others) == 0)
        {
            return null;
        }

        string octal = Convert.ToString((int)mode, 8).PadLeft(4, '0');
        if (!options.AllowReadableKey)
        {
            throw new InvalidOperationException(
                $"the key file '{options.Key}' can be read by other users (mode {octal}); run 'chmod 600 {options.Key}', or set Gateway:AllowReadableKey=true for development keys");
        }

        return $"the key file '{options.Key}' can be read by other users (mode {octal}); allowed by Gateway:AllowReadableKey, for development only";
    }

    /// <summary>What the start-up log says about the endpoint.</summary>
    public static string Describe(GatewayOptions options) =>
        $"Jobs gateway listening on {options.Listen}: HTTP/2, TLS 1.3 only, client certificate required (CA {options.ClientCa}); " +
        "cipher suites in priority order: " +
        (OperatingSystem.IsWindows() ? "the OS policy (Windows does not let a process choose)" : string.Join(", ", CipherSuites));
}
