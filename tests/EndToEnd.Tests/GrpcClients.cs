using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using Jobs.CertGen;

namespace Jobs.EndToEnd.Tests;

/// <summary>Plain gRPC clients over TLS, as a third-party client would build them, with any client certificate.</summary>
public static class GrpcClients
{
    public static X509Certificate2 ServerCa { get; } = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(Repo.Certs, "server_ca.pem")));

    public static X509Certificate2 Client1 { get; } = X509Certificate2.CreateFromPemFile(Path.Combine(Repo.Certs, "client1.pem"), Path.Combine(Repo.Certs, "client1.key"));

    /// <summary>A client certificate that chains to a CA the server has never seen.</summary>
    public static X509Certificate2 ForeignClient()
    {
        var now = DateTimeOffset.UtcNow;
        using var ca = DevCertificates.CreateCa("Some Other CA", now.AddDays(-1), now.AddYears(1));
        return DevCertificates.CreateLeaf(ca, "client1", LeafKind.Client, now.AddDays(-1), now.AddYears(1));
    }

    public static (Protos.Jobs.JobsClient Client, GrpcChannel Channel) Create(string endpoint, X509Certificate2? clientCertificate)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls13;
        if (clientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [clientCertificate];
        }

        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ServerCa);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return certificate is X509Certificate2 server && chain.Build(server);
        };
        var channel = GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions { HttpHandler = handler });
        return (new Protos.Jobs.JobsClient(channel), channel);
    }
}
