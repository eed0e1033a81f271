using System.Security.Cryptography.X509Certificates;
using Jobs.Silo.Security;

namespace Jobs.Gateway.Security;

/// <summary>
/// Accepts a client certificate only if it chains to the configured client CA (nothing from the
/// system store), is within its validity period, and names client authentication in its extended key usage.
/// </summary>
public sealed class ClientCertificateValidator(X509Certificate2Collection trustedRoots)
{
    /// <summary>The chain policy for the handshake: the client CA alone, clientAuth, no revocation fetches.</summary>
    public X509ChainPolicy Policy() => PemCertificates.ChainPolicy(trustedRoots, PemCertificates.ClientAuthentication);

    /// <summary>
    /// True when the certificate may authenticate a client: the handshake built its chain with
    /// <see cref="Policy"/> and found no error, and the certificate names clientAuth itself (a chain
    /// check takes a certificate without the extension as good for any use).
    /// </summary>
    public static bool IsValid(X509Certificate2 certificate, System.Net.Security.SslPolicyErrors handshakeErrors) =>
        handshakeErrors == System.Net.Security.SslPolicyErrors.None
        && PemCertificates.AllowsUsage(certificate, PemCertificates.ClientAuthentication);
}
