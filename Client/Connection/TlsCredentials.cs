using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Jobs.Client.Connection;

/// <summary>
/// The client certificate with its key (and any intermediates after it in its PEM file), and the
/// CA the server must chain to, read from PEM files.
/// </summary>
internal sealed class TlsCredentials : IDisposable
{
    private TlsCredentials(X509Certificate2 clientCertificate, X509Certificate2Collection intermediates, X509Certificate2Collection serverCa)
    {
        ClientCertificate = clientCertificate;
        Intermediates = intermediates;
        ServerCa = serverCa;
    }

    public X509Certificate2 ClientCertificate { get; }

    /// <summary>The certificates after the first in the client certificate's file: the chain to send with it.</summary>
    public X509Certificate2Collection Intermediates { get; }

    public X509Certificate2Collection ServerCa { get; }

    /// <exception cref="CliException">With <see cref="ExitCodes.Usage"/> when a file cannot be read or parsed.</exception>
    public static TlsCredentials Load(string certPath, string keyPath, string serverCaPath)
    {
        var certPem = ReadFile(certPath, "client certificate");
        var keyPem = ReadFile(keyPath, "client key");
        var caPem = ReadFile(serverCaPath, "server CA");

        // Parsed alone first so that a broken certificate is not blamed on the key.
        try
        {
            using var _ = X509Certificate2.CreateFromPem(certPem);
        }
        catch (CryptographicException ex)
        {
            throw Unreadable(certPath, "client certificate", ex);
        }

        X509Certificate2 clientCertificate;
        try
        {
            clientCertificate = X509Certificate2.CreateFromPem(certPem, keyPem);
        }
        catch (CryptographicException ex)
        {
            throw Unreadable(keyPath, "client key", ex);
        }
        catch (ArgumentException ex)
        {
            // What CreateFromPem throws for a well-formed key of another certificate.
            throw new CliException(ExitCodes.Usage, $"cannot read client key '{keyPath}': it does not belong to the certificate '{certPath}'", ex);
        }

        if (OperatingSystem.IsWindows())
        {
            // SslStream on Windows (SChannel) cannot use the ephemeral key of a PEM import.
            using var ephemeral = clientCertificate;
            clientCertificate = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), password: null);
        }

        // The first certificate of the file is the client's own (CreateFromPem above took it).
        var intermediates = new X509Certificate2Collection();
        intermediates.ImportFromPem(certPem);
        intermediates[0].Dispose();
        intermediates.RemoveAt(0);

        var serverCa = new X509Certificate2Collection();
        try
        {
            serverCa.ImportFromPem(caPem);
        }
        catch (CryptographicException ex)
        {
            clientCertificate.Dispose();
            DisposeAll(intermediates);
            throw Unreadable(serverCaPath, "server CA", ex);
        }

        if (serverCa.Count == 0)
        {
            clientCertificate.Dispose();
            DisposeAll(intermediates);
            throw new CliException(ExitCodes.Usage, $"cannot read server CA '{serverCaPath}': no PEM certificate in it");
        }

        return new TlsCredentials(clientCertificate, intermediates, serverCa);
    }

    public void Dispose()
    {
        ClientCertificate.Dispose();
        DisposeAll(Intermediates);
        DisposeAll(ServerCa);
    }

    private static void DisposeAll(X509Certificate2Collection certificates)
    {
        foreach (var certificate in certificates)
        {
            certificate.Dispose();
        }
    }

    private static string ReadFile(string path, string what)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw Unreadable(path, what, ex);
        }
    }

    private static CliException Unreadable(string path, string what, Exception ex)
    {
        var reason = ex switch
        {
            FileNotFoundException or DirectoryNotFoundException => "no such file",
            UnauthorizedAccessException when Directory.Exists(path) => "it is a directory",
            UnauthorizedAccessException => "permission denied",
            _ => ex.Message,
        };
        return new CliException(ExitCodes.Usage, $"cannot read {what} '{path}': {reason}", ex);
    }
}
