using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Jobs.CertGen;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// A client certificate issued by an intermediate CA: the CLI sends the intermediates that follow
/// the certificate in its file (it never looks in the system store), and only those.
/// </summary>
public sealed class ClientChainTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"jobs-chain-{Guid.NewGuid():N}");
    private ServerProcess _server = null!;

    private string Chain => Path.Combine(_directory, "chain.pem");

    private string LeafOnly => Path.Combine(_directory, "leaf.pem");

    private string Key => Path.Combine(_directory, "leaf.key");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        var now = DateTimeOffset.UtcNow;
        using var root = CreateCa("Jobs Test Root CA", null, pathLength: 1, now);
        using var intermediate = CreateCa("Jobs Test Intermediate CA", root, pathLength: 0, now);
        using var leaf = DevCertificates.CreateLeaf(intermediate, "chained", LeafKind.Client, now.AddDays(-1), now.AddDays(30));
        DevCertificates.WritePem(leaf, LeafOnly, Key);
        await File.WriteAllTextAsync(Chain, leaf.ExportCertificatePem() + "\n" + intermediate.ExportCertificatePem() + "\n");
        string rootPem = Path.Combine(_directory, "root.pem");
        await File.WriteAllTextAsync(rootPem, root.ExportCertificatePem() + "\n");
        _server = await ServerProcess.StartCombinedAsync($"--Gateway:ClientCa={rootPem}");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact(Timeout = 120_000)]
    public async Task The_intermediates_in_the_cert_file_go_with_the_certificate()
    {
        var run = await Cli.RunAsync(_server.Endpoint, "--cert", Chain, "--key", Key, "run", "--wait", "--", "sh", "-c", "exit 3");

        Assert.Equal((3, ""), (run.ExitCode, run.Stderr));
    }

    [Fact(Timeout = 120_000)]
    public async Task Without_them_the_server_refuses_the_certificate()
    {
        var run = await Cli.RunAsync(_server.Endpoint, "--cert", LeafOnly, "--key", Key, "run", "--wait", "--", "true");

        Assert.Equal(3, run.ExitCode);
    }

    private static X509Certificate2 CreateCa(string name, X509Certificate2? issuer, int pathLength, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, pathLength, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        if (issuer is null)
        {
            return request.CreateSelfSigned(now.AddDays(-2), now.AddYears(1));
        }

        using var issuerKey = issuer.GetECDsaPrivateKey()!;
        using var issued = request.Create(issuer.SubjectName, X509SignatureGenerator.CreateForECDsa(issuerKey), now.AddDays(-2), now.AddDays(300), RandomNumberGenerator.GetBytes(16));
        return issued.CopyWithPrivateKey(key);
    }
}
