using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Jobs.TestSupport;

/// <summary>
/// TLS for gRPC clients as a third-party client sets it up: the development server CA as the only trust
/// root, a client certificate (or none), TLS 1.3 unless a test asks for another version. Tests and the
/// bench wrap the handler in a channel and a client of their own, each from its own copy of jobs.proto.
/// </summary>
public static class GrpcTls
{
    /// <summary>A certificate with its key, from <c>NAME.pem</c> and <c>NAME.key</c> in <paramref name="certs"/>.</summary>
    public static X509Certificate2 Load(string certs, string name) =>
        X509Certificate2.CreateFromPemFile(Path.Combine(certs, $"{name}.pem"), Path.Combine(certs, $"{name}.key"));

    /// <summary>A certificate alone (a CA's), from <c>NAME.pem</c> in <paramref name="certs"/>.</summary>
    public static X509Certificate2 LoadPublic(string certs, string name) =>
        X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(certs, $"{name}.pem")));

    /// <summary>
    /// An HTTP handler that trusts <paramref name="serverCa"/> alone and presents <paramref name="clientCertificate"/>, if any.
    /// With <paramref name="checkServerName"/> the server's name must match the address too, as a browser would insist
    /// (the bench does; tests that mint server certificates leave it out).
    /// </summary>
    public static SocketsHttpHandler Handler(
        X509Certificate2 serverCa, X509Certificate2? clientCertificate, SslProtocols protocols = SslProtocols.Tls13, bool checkServerName = false)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.EnabledSslProtocols = protocols;
        if (clientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [clientCertificate];
        }

        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            (!checkServerName || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None) && ChainsTo(serverCa, certificate);
        return handler;
    }

    /// <summary>True when <paramref name="certificate"/> chains to <paramref name="ca"/> and to nothing else the machine trusts.</summary>
    public static bool ChainsTo(X509Certificate2 ca, X509Certificate? certificate)
    {
        if (certificate is not X509Certificate2 leaf)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }
}
