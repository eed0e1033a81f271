using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Jobs.Silo.Security;

/// <summary>
/// Decides whether a cluster peer's certificate is acceptable: the handshake built its chain with
/// the cluster CA alone as trust (nothing from the system store), found no error, and the
/// certificate names the usage its place in the cluster needs. Host names are not checked: peers
/// are reached by the addresses membership advertises, and the cluster CA is what vouches for them.
/// </summary>
/// <param name="Usages">The extended key usages the peer's certificate must name.</param>
/// <param name="What">What such a peer is, for refusal messages ("a silo", "a silo or a gateway").</param>
public sealed record ClusterPeerCheck(IReadOnlyList<string> Usages, string What)
{
    /// <summary>On the silo port: only silos, whose certificates name both usages.</summary>
    public static readonly ClusterPeerCheck SiloPeer = new([PemCertificates.ServerAuthentication, PemCertificates.ClientAuthentication], "a silo");

    /// <summary>On the gateway port: a silo or a gateway, as a TLS client.</summary>
    public static readonly ClusterPeerCheck GatewayPeer = new([PemCertificates.ClientAuthentication], "a silo or a gateway");

    /// <summary>Dialling out: the silo that answers.</summary>
    public static readonly ClusterPeerCheck Server = new([PemCertificates.ServerAuthentication], "a silo");

    /// <summary>Why the certificate is refused, or null when it is accepted.</summary>
    public string? Refusal(X509Certificate2 certificate, SslPolicyErrors errors)
    {
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return "it presented no certificate";
        }

        string subject = certificate.Subject;
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors))
        {
            return $"its certificate ({subject}, issuer {certificate.Issuer}) does not chain to the cluster CA, or is expired or not yet valid";
        }

        foreach (string usage in Usages)
        {
            if (!PemCertificates.AllowsUsage(certificate, usage))
            {
                return $"its certificate ({subject}) is not one of {What} (it lacks the {UsageName(usage)} extended key usage)";
            }
        }

        return null;
    }

    private static string UsageName(string usage) => usage == PemCertificates.ServerAuthentication ? "serverAuth" : "clientAuth";
}
