using System.Security.Cryptography.X509Certificates;

namespace Jobs.Silo.Security;

/// <summary>
/// Loads PEM certificates and keys with a clear error naming the file; shared by the gateway's
/// gRPC endpoint and the cluster's Orleans connections.
/// </summary>
public static class PemCertificates
{
    /// <summary>The serverAuth extended key usage.</summary>
    public const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";

    /// <summary>The clientAuth extended key usage.</summary>
    public const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";

    /// <summary>
    /// True when the certificate names <paramref name="usage"/> in its extended key usage. Stricter
    /// than chain building, which takes a certificate without the extension as good for any use.
    /// </summary>
    public static bool AllowsUsage(X509Certificate2 certificate, string usage) =>
        certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>()
            .Any(e => e.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Any(o => o.Value == usage));

    /// <summary>
    /// A chain policy for a handshake that trusts <paramref name="roots"/> alone (nothing from the
    /// system store), fetches no revocation lists and asks for <paramref name="usage"/>.
    /// </summary>
    public static X509ChainPolicy ChainPolicy(X509Certificate2Collection roots, string usage)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(roots);
        policy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(usage));
        return policy;
    }

    /// <summary>A certificate with its private key, usable by SslStream on every OS.</summary>
    public static X509Certificate2 LoadWithKey(string certificatePath, string keyPath)
    {
        try
        {
            var certificate = X509Certificate2.CreateFromPemFile(Path.GetFullPath(certificatePath), Path.GetFullPath(keyPath));
            if (!OperatingSystem.IsWindows())
            {
                return certificate;
            }

            // SChannel cannot use an ephemeral key: give it one imported from PKCS#12.
            using (certificate)
            {
                return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new InvalidOperationException($"cannot load certificate '{certificatePath}' with key '{keyPath}': {e.Message}", e);
        }
    }

    /// <summary>
    /// Refuses a private key file that group or others can read or write (a key others can read
    /// is a key others can use), unless <paramref name="allowReadable"/>; then returns a warning to log.
    /// </summary>
    /// <param name="keyPath">The key file.</param>
    /// <param name="allowReadable">The setting that allows such a file (development keys in a checkout).</param>
    /// <param name="allowSetting">The name of that setting, for the message.</param>
    /// <returns>A warning to log, or null when the file is private (or on Windows, where modes do not apply).</returns>
    /// <exception cref="InvalidOperationException">The file is readable by others and that is not allowed.</exception>
    public static string? CheckKeyFile(string keyPath, bool allowReadable, string allowSetting)
    {
        if (FileModes.OpenToOthers(keyPath) is not { } octal)
        {
            return null;
        }

        if (!allowReadable)
        {
            throw new InvalidOperationException(
                $"the key file '{keyPath}' can be read by other users (mode {octal}); run 'chmod 600 {keyPath}', or set {allowSetting}=true for development keys");
        }

        return $"the key file '{keyPath}' can be read by other users (mode {octal}); allowed by {allowSetting}, for development only";
    }

    /// <summary>The certificates of a PEM file, such as a CA.</summary>
    public static X509Certificate2Collection LoadAll(string path)
    {
        try
        {
            var collection = new X509Certificate2Collection();
            collection.ImportFromPemFile(Path.GetFullPath(path));
            if (collection.Count == 0)
            {
                throw new InvalidOperationException($"'{path}' holds no certificate");
            }

            return collection;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new InvalidOperationException($"cannot load certificates from '{path}': {e.Message}", e);
        }
    }
}
