using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Connections.Security;

namespace Jobs.Silo.Security;

/// <summary>
/// Mutual TLS 1.3 on every Orleans connection (Orleans' own <c>Microsoft.Orleans.Connections.Security</c>):
/// each side presents a certificate of the cluster CA and accepts only a peer whose certificate
/// chains to it and names the usage of its place. A client certificate (another CA) never opens the cluster.
/// </summary>
public static class ClusterTls
{
    /// <summary>Secures a silo's silo port, gateway port and outbound silo connections.</summary>
    /// <returns>A warning to log (a key file others can read, allowed), or null.</returns>
    /// <exception cref="InvalidOperationException">The certificate, key or CA cannot be used.</exception>
    public static string? UseClusterTls(this ISiloBuilder silo, ClusterTlsOptions options)
    {
        var (identity, warning) = Load(options, ClusterRole.Silo);
        AddHandshakeLog(silo.Services);
        silo.Configure<SiloConnectionOptions>(connections =>
        {
            connections.ConfigureSiloInboundConnection(b => Guard(b, "silo port", x => x.UseServerTls(identity.Server(ClusterPeerCheck.SiloPeer))));
            connections.ConfigureGatewayInboundConnection(b => Guard(b, "gateway port", x => x.UseServerTls(identity.Server(ClusterPeerCheck.GatewayPeer))));
            connections.ConfigureSiloOutboundConnection(b => Guard(b, "outbound to a silo", x => x.UseClientTls(identity.Client())));
        });
        return warning;
    }

    /// <summary>Secures an Orleans client's (a gateway's) connections to silos.</summary>
    /// <returns>A warning to log (a key file others can read, allowed), or null.</returns>
    /// <exception cref="InvalidOperationException">The certificate, key or CA cannot be used.</exception>
    public static string? UseClusterTls(this IClientBuilder client, ClusterTlsOptions options)
    {
        var (identity, warning) = Load(options, ClusterRole.Gateway);
        AddHandshakeLog(client.Services);
        client.Configure<ClientConnectionOptions>(connections =>
            connections.ConfigureConnection(b => Guard(b, "outbound to a silo", x => x.UseClientTls(identity.Client()))));
        return warning;
    }

    // Orleans logs every failed handshake, once per retry and without the peer; ClusterHandshakes says it once, with both.
    private static void AddHandshakeLog(IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ClusterHandshakes>();
        services.AddLogging(logging => logging.AddFilter("Orleans.Connections.Security", LogLevel.Error));
    }

    private static void Guard(IConnectionBuilder builder, string place, Action<IConnectionBuilder> tls) =>
        builder.ApplicationServices.GetRequiredService<ClusterHandshakes>().Guard(builder, place, tls);

    private static (Identity Identity, string? Warning) Load(ClusterTlsOptions options, ClusterRole role)
    {
        string certificatePath = options.CertificateFor(role);
        string keyPath = options.KeyFor(role);
        string? warning = PemCertificates.CheckKeyFile(keyPath, options.AllowReadableKey, "Orleans:Tls:AllowReadableKey");
        var certificate = PemCertificates.LoadWithKey(certificatePath, keyPath);
        var ca = PemCertificates.LoadAll(options.Ca);
        string[] needed = role == ClusterRole.Silo
            ? [PemCertificates.ServerAuthentication, PemCertificates.ClientAuthentication]
            : [PemCertificates.ClientAuthentication];
        foreach (string usage in needed)
        {
            if (!PemCertificates.AllowsUsage(certificate, usage))
            {
                throw new InvalidOperationException(
                    $"the cluster certificate '{certificatePath}' cannot serve a {role.ToString().ToLowerInvariant()}: it lacks the {(usage == PemCertificates.ServerAuthentication ? "serverAuth" : "clientAuth")} extended key usage");
            }
        }

        using var chain = new X509Chain { ChainPolicy = PemCertificates.ChainPolicy(ca, PemCertificates.ClientAuthentication) };
        if (!chain.Build(certificate))
        {
            throw new InvalidOperationException(
                $"the cluster certificate '{certificatePath}' does not chain to the cluster CA '{options.Ca}': {string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()))}");
        }

        return (new Identity(certificate, ca), warning);
    }

    private sealed record Identity(X509Certificate2 Certificate, X509Certificate2Collection Ca)
    {
        public TlsOptions Server(ClusterPeerCheck peer)
        {
            var policy = PemCertificates.ChainPolicy(Ca, PemCertificates.ClientAuthentication);
            var options = Common(peer);
            options.OnAuthenticateAsServer = (_, tls) =>
            {
                var ssl = (SslServerAuthenticationOptions)tls.SslServerAuthenticationOptions;
                ssl.CertificateChainPolicy = policy;
                ssl.CipherSuitesPolicy = Tls13.Policy();
            };
            return options;
        }

        public TlsOptions Client()
        {
            var peer = ClusterPeerCheck.Server;
            var policy = PemCertificates.ChainPolicy(Ca, PemCertificates.ServerAuthentication);
            var options = Common(peer);
            options.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
            options.OnAuthenticateAsClient = (_, tls) =>
            {
                var ssl = (SslClientAuthenticationOptions)tls.SslClientAuthenticationOptions;
                ssl.CertificateChainPolicy = policy;
                ssl.CipherSuitesPolicy = Tls13.Policy();
            };
            return options;
        }

        private TlsOptions Common(ClusterPeerCheck peer) => new()
        {
            LocalCertificate = Certificate,
            RemoteCertificateMode = RemoteCertificateMode.RequireCertificate,
            SslProtocols = SslProtocols.Tls13,
            CheckCertificateRevocation = false,
            RemoteCertificateValidation = (certificate, _, errors) =>
            {
                // Host names are not part of a cluster peer's identity (see ClusterPeerCheck).
                string? refusal = peer.Refusal(certificate, errors & ~SslPolicyErrors.RemoteCertificateNameMismatch);
                if (refusal is not null)
                {
                    ClusterHandshakes.Refuse(refusal);
                }

                return refusal is null;
            },
        };
    }
}
