using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Jobs.CertGen;

/// <summary>
/// Mints the development PKI (two CAs, one server, three clients). Public so tests can
/// mint extra certificates such as a foreign CA, an expired client or one without clientAuth.
/// </summary>
public static class DevCertificates
{
    public const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    public const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    public const string ServerCaCommonName = "Jobs Dev Server CA";
    public const string ClientCaCommonName = "Jobs Dev Client CA";

    private static readonly HashAlgorithmName s_hash = HashAlgorithmName.SHA256;

    /// <summary>Creates a self-signed ECDSA P-256 CA that may sign leaves only (pathLen 0).</summary>
    /// <returns>The CA certificate including its private key.</returns>
    public static X509Certificate2 CreateCa(string commonName, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(commonName);
        ThrowIfBadValidity(notBefore, notAfter);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = BuildName(commonName);
        var request = new CertificateRequest(subject, key, s_hash);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(
            certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));

        // Create(...) with an explicit serial rather than CreateSelfSigned so CA and leaf serials
        // come from the same 16-byte generator.
        using var certificate = request.Create(
            subject, X509SignatureGenerator.CreateForECDsa(key), notBefore, notAfter, NewSerialNumber());
        return certificate.CopyWithPrivateKey(key);
    }

    /// <summary>Creates an ECDSA P-256 leaf with the EKU implied by <paramref name="kind"/>.</summary>
    /// <inheritdoc cref="CreateLeaf(X509Certificate2, string, IEnumerable{string}, DateTimeOffset, DateTimeOffset, IEnumerable{string}?, IEnumerable{IPAddress}?)"/>
    public static X509Certificate2 CreateLeaf(
        X509Certificate2 issuer,
        string commonName,
        LeafKind kind,
        DateTimeOffset notBefore,
        DateTimeOffset notAfter,
        IEnumerable<string>? dnsNames = null,
        IEnumerable<IPAddress>? ips = null)
    {
        var eku = kind switch
        {
            LeafKind.Server => ServerAuthOid,
            LeafKind.Client => ClientAuthOid,
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown leaf kind."),
        };
        return CreateLeaf(issuer, commonName, [eku], notBefore, notAfter, dnsNames, ips);
    }

    /// <summary>
    /// Creates an ECDSA P-256 leaf signed by <paramref name="issuer"/> with arbitrary EKU OIDs.
    /// An empty <paramref name="extendedKeyUsageOids"/> omits the EKU extension entirely, which most
    /// validators read as "any purpose"; to get a cert that must fail clientAuth, pass only serverAuth.
    /// </summary>
    /// <remarks>
    /// The validity window is deliberately not clamped to the issuer's, so tests can mint e.g. an
    /// expired leaf under a CA that is still valid.
    /// </remarks>
    /// <param name="issuer">A CA certificate carrying an ECDSA private key.</param>
    /// <returns>The leaf certificate including its private key.</returns>
    public static X509Certificate2 CreateLeaf(
        X509Certificate2 issuer,
        string commonName,
        IEnumerable<string> extendedKeyUsageOids,
        DateTimeOffset notBefore,
        DateTimeOffset notAfter,
        IEnumerable<string>? dnsNames = null,
        IEnumerable<IPAddress>? ips = null)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentException.ThrowIfNullOrWhiteSpace(commonName);
        ArgumentNullException.ThrowIfNull(extendedKeyUsageOids);
        ThrowIfBadValidity(notBefore, notAfter);

        using var issuerKey = issuer.GetECDsaPrivateKey()
            ?? throw new ArgumentException("Issuer certificate has no ECDSA private key.", nameof(issuer));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(BuildName(commonName), key, s_hash);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(
            certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));

        var ekus = new OidCollection();
        foreach (var oid in extendedKeyUsageOids)
        {
            ekus.Add(new Oid(oid));
        }
        if (ekus.Count > 0)
        {
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(ekus, critical: false));
        }

        var san = new SubjectAlternativeNameBuilder();
        var hasSan = false;
        foreach (var dns in dnsNames ?? [])
        {
            san.AddDnsName(dns);
            hasSan = true;
        }
        foreach (var ip in ips ?? [])
        {
            san.AddIpAddress(ip);
            hasSan = true;
        }
        if (hasSan)
        {
            request.CertificateExtensions.Add(san.Build(critical: false));
        }

        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(
            issuer, includeKeyIdentifier: true, includeIssuerAndSerial: false));

        // The generator overload (rather than Create(X509Certificate2, ...)) skips the check that the
        // leaf's validity nests inside the issuer's, which tests need for expired/not-yet-valid leaves.
        using var certificate = request.Create(
            issuer.SubjectName,
            X509SignatureGenerator.CreateForECDsa(issuerKey),
            notBefore,
            notAfter,
            NewSerialNumber());
        return certificate.CopyWithPrivateKey(key);
    }

    /// <summary>
    /// Writes the certificate as PEM and its private key as unencrypted PKCS#8 PEM.
    /// On Unix the key file is created with mode 0600.
    /// </summary>
    public static void WritePem(X509Certificate2 cert, string certPath, string keyPath)
    {
        ArgumentNullException.ThrowIfNull(cert);
        ArgumentException.ThrowIfNullOrEmpty(certPath);
        ArgumentException.ThrowIfNullOrEmpty(keyPath);

        using var key = cert.GetECDsaPrivateKey()
            ?? throw new ArgumentException("Certificate has no ECDSA private key.", nameof(cert));

        File.WriteAllText(certPath, cert.ExportCertificatePem() + "\n");

        // Delete first: UnixCreateMode only applies to newly created files, so overwriting an
        // existing key with looser permissions would otherwise keep those permissions.
        File.Delete(keyPath);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using var writer = new StreamWriter(keyPath, options);
        writer.Write(key.ExportPkcs8PrivateKeyPem());
        writer.Write('\n');
    }

    /// <summary>
    /// Writes the full development PKI into <paramref name="directory"/> (created if missing),
    /// replacing any existing files.
    /// </summary>
    /// <returns>The paths written, in order.</returns>
    public static IReadOnlyList<string> GenerateAll(string directory, DateTimeOffset now)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);

        var notBefore = now.AddDays(-1);
        var leafNotAfter = now.AddYears(10);
        // CAs outlive leaves so a chain never expires from the top first.
        var caNotAfter = now.AddYears(20);

        var written = new List<string>();
        void Write(X509Certificate2 cert, string baseName)
        {
            var certPath = Path.Combine(directory, baseName + ".pem");
            var keyPath = Path.Combine(directory, baseName + ".key");
            WritePem(cert, certPath, keyPath);
            written.Add(certPath);
            written.Add(keyPath);
        }

        using var serverCa = CreateCa(ServerCaCommonName, notBefore, caNotAfter);
        using var clientCa = CreateCa(ClientCaCommonName, notBefore, caNotAfter);
        Write(serverCa, "server_ca");
        Write(clientCa, "client_ca");

        using (var server = CreateLeaf(
            serverCa, "localhost", LeafKind.Server, notBefore, leafNotAfter,
            dnsNames: ["localhost"], ips: [IPAddress.Loopback, IPAddress.IPv6Loopback]))
        {
            Write(server, "server");
        }

        foreach (var name in (ReadOnlySpan<string>)["client1", "client2", "admin"])
        {
            using var client = CreateLeaf(clientCa, name, LeafKind.Client, notBefore, leafNotAfter);
            Write(client, name);
        }

        return written;
    }

    private static X500DistinguishedName BuildName(string commonName)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddCommonName(commonName);
        return builder.Build();
    }

    private static byte[] NewSerialNumber()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        // Clear the sign bit (serials must be positive) and set the next one so the DER
        // INTEGER keeps all 16 bytes with no leading-zero normalisation.
        serial[0] = (byte)((serial[0] & 0x7F) | 0x40);
        return serial;
    }

    private static void ThrowIfBadValidity(DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        if (notAfter <= notBefore)
        {
            throw new ArgumentException("notAfter must be later than notBefore.", nameof(notAfter));
        }
    }
}
