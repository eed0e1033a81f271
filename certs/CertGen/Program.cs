using System.Security.Cryptography;
using Jobs.CertGen;

if (args.Length > 1)
{
    Console.Error.WriteLine("usage: CertGen [directory]");
    return 1;
}

var directory = args.Length == 1 ? args[0] : "certs";

try
{
    foreach (var path in DevCertificates.GenerateAll(directory, DateTimeOffset.UtcNow))
    {
        Console.WriteLine(path);
    }
    return 0;
}
catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
{
    // One line only, so scripts can surface the failure verbatim.
    Console.Error.WriteLine($"CertGen: {ex.Message.ReplaceLineEndings(" ")}");
    return 1;
}
