namespace Jobs.Silo.Security;

/// <summary>
/// The certificate a silo or a gateway presents on Orleans connections, and the cluster CA every
/// peer must chain to (configuration section <c>Orleans:Tls</c>).
/// </summary>
public sealed class ClusterTlsOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string Section = "Orleans:Tls";

    /// <summary>The only CA cluster peers may chain to (PEM); never the client CA.</summary>
    public string Ca { get; set; } = "certs/cluster_ca.pem";

    /// <summary>This process's certificate (PEM); <c>certs/silo.pem</c> for a silo, <c>certs/gateway.pem</c> for a gateway when unset.</summary>
    public string? Certificate { get; set; }

    /// <summary>The certificate's private key (PEM); <c>certs/silo.key</c> or <c>certs/gateway.key</c> when unset.</summary>
    public string? Key { get; set; }

    /// <summary>Start even though the key file is readable by other users (development keys in a checkout); a warning is logged.</summary>
    public bool AllowReadableKey { get; set; }

    /// <summary>The certificate file, with the role's default.</summary>
    public string CertificateFor(ClusterRole role) => Certificate ?? $"certs/{DefaultName(role)}.pem";

    /// <summary>The key file, with the role's default.</summary>
    public string KeyFor(ClusterRole role) => Key ?? $"certs/{DefaultName(role)}.key";

    private static string DefaultName(ClusterRole role) => role == ClusterRole.Silo ? "silo" : "gateway";
}
