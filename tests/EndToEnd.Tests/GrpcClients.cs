using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using Jobs.CertGen;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// Plain gRPC clients over TLS, as a third-party client would build them, with any client certificate; the
/// TLS set-up is the one the bench uses too (<see cref="GrpcTls"/>), the client is this project's copy of jobs.proto.
/// </summary>
public static class GrpcClients
{
    public static X509Certificate2 ServerCa { get; } = GrpcTls.LoadPublic(Repo.Certs, "server_ca");

    public static X509Certificate2 Client1 { get; } = Load("client1");

    public static X509Certificate2 Client2 { get; } = Load("client2");

    public static X509Certificate2 Admin { get; } = Load("admin");

    /// <summary>The development client CA, with its key, to mint client certificates in tests.</summary>
    public static X509Certificate2 ClientCa { get; } = Load("client_ca");

    /// <summary>A certificate from the real client CA with any name, usages and validity.</summary>
    public static X509Certificate2 Mint(string commonName, string[]? usages = null, TimeSpan? startsIn = null, TimeSpan? lasts = null)
    {
        var notBefore = DateTimeOffset.UtcNow + (startsIn ?? TimeSpan.FromDays(-1));
        return DevCertificates.CreateLeaf(ClientCa, commonName, usages ?? ["1.3.6.1.5.5.7.3.2"], notBefore, notBefore + (lasts ?? TimeSpan.FromDays(30)));
    }

    /// <summary>A client certificate that chains to a CA the server has never seen.</summary>
    public static X509Certificate2 ForeignClient()
    {
        var now = DateTimeOffset.UtcNow;
        using var ca = DevCertificates.CreateCa("Some Other CA", now.AddDays(-1), now.AddYears(1));
        return DevCertificates.CreateLeaf(ca, "client1", LeafKind.Client, now.AddDays(-1), now.AddYears(1));
    }

    public static (Protos.Jobs.JobsClient Client, GrpcChannel Channel) Create(
        string endpoint, X509Certificate2? clientCertificate, System.Security.Authentication.SslProtocols protocols = System.Security.Authentication.SslProtocols.Tls13)
    {
        var channel = GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions { HttpHandler = TlsHandler(clientCertificate, protocols) });
        return (new Protos.Jobs.JobsClient(channel), channel);
    }

    /// <summary>An HTTP handler that trusts the development server CA alone and presents the client certificate, if any.</summary>
    public static SocketsHttpHandler TlsHandler(
        X509Certificate2? clientCertificate, System.Security.Authentication.SslProtocols protocols = System.Security.Authentication.SslProtocols.Tls13) =>
        GrpcTls.Handler(ServerCa, clientCertificate, protocols);

    private static X509Certificate2 Load(string name) => GrpcTls.Load(Repo.Certs, name);
}
