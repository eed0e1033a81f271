using System.Security.Cryptography.X509Certificates;
using Jobs.CertGen;

namespace Jobs.EndToEnd.Tests;

/// <summary>What a stock Orleans client brings to a server's Orleans port.</summary>
/// <param name="Name">For test names.</param>
/// <param name="Tls">Speak TLS at all.</param>
/// <param name="Certificate">The certificate presented in the handshake, if any.</param>
public sealed record OrleansCredential(string Name, bool Tls, X509Certificate2? Certificate)
{
    public static OrleansCredential PlainTcp { get; } = new("plain TCP", false, null);

    public static OrleansCredential TlsWithoutCertificate { get; } = new("TLS without a certificate", true, null);

    /// <summary>A user's client certificate: signed by the client CA, which must never open the cluster.</summary>
    public static OrleansCredential ClientCaCertificate { get; } = new("a client-CA certificate", true, Load("client1"));

    /// <summary>A silo-shaped certificate (both usages) from a CA of the attacker's own.</summary>
    public static OrleansCredential ForeignCaCertificate { get; } = new("a foreign CA's silo certificate", true, ForeignSilo());

    /// <summary>The development gateway's cluster certificate.</summary>
    public static OrleansCredential ClusterGateway { get; } = new("the cluster gateway certificate", true, Load("gateway"));

    /// <summary>Every credential that must be refused on every Orleans port.</summary>
    public static IReadOnlyList<OrleansCredential> Refused { get; } = [PlainTcp, TlsWithoutCertificate, ClientCaCertificate, ForeignCaCertificate];

    public static OrleansCredential ByName(string name) =>
        Refused.Append(ClusterGateway).Single(c => c.Name == name);

    public override string ToString() => Name;

    private static X509Certificate2 Load(string name) =>
        X509Certificate2.CreateFromPemFile(Path.Combine(Repo.Certs, name + ".pem"), Path.Combine(Repo.Certs, name + ".key"));

    private static X509Certificate2 ForeignSilo()
    {
        var now = DateTimeOffset.UtcNow;
        using var ca = DevCertificates.CreateCa("Jobs Dev Cluster CA", now.AddDays(-1), now.AddDays(30));
        return DevCertificates.CreateLeaf(ca, "silo", [DevCertificates.ServerAuthOid, DevCertificates.ClientAuthOid], now.AddDays(-1), now.AddDays(30), ["localhost"]);
    }
}
