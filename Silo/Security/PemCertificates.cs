using System.Security.Cryptography.X509Certificates;

namespace Jobs.Gateway.Security;

/// <summary>Loads PEM certificates with a clear error naming the file.</summary>
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
