using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Jobs.Gateway.Security;

/// <summary>
/// Revoked client certificates by serial number or SHA-256 fingerprint, from a file that is
/// re-read when it changes (checked on every call: a stat), so a revocation holds from the next call on.
/// </summary>
public sealed class DenyList(string? path, ILogger<DenyList> logger)
{
    private readonly Lock _gate = new();
    private (DateTime Written, long Length) _version = (DateTime.MinValue, -1);
    private HashSet<string> _denied = new(StringComparer.Ordinal);

    /// <summary>True when the certificate's serial number or fingerprint is on the list.</summary>
    public bool IsDenied(X509Certificate2 certificate)
    {
        if (string.IsNullOrEmpty(path))
        {
            return false;
        }

        var denied = Current();
        return denied.Count > 0
            && (denied.Contains(Normalize(certificate.SerialNumber)) || denied.Contains(certificate.GetCertHashString(HashAlgorithmName.SHA256)));
    }

    private HashSet<string> Current()
    {
        var file = new FileInfo(path!);
        var version = file.Exists ? (file.LastWriteTimeUtc, file.Length) : (DateTime.MinValue, -1L);
        lock (_gate)
        {
            if (version == _version)
            {
                return _denied;
            }

            try
            {
                var denied = file.Exists
                    ? File.ReadLines(file.FullName).Select(l => l.Split('#')[0]).Select(Normalize).Where(l => l.Length > 0).ToHashSet(StringComparer.Ordinal)
                    : [];
                logger.LogInformation("Deny list {Path}: {Count} revoked certificates", path, denied.Count);
                _denied = denied;
                _version = version;
            }
            catch (IOException e)
            {
                // Being rewritten: keep the list in force and read it again on the next call.
                logger.LogWarning("Deny list {Path} could not be read ({Error}); the previous list stays in force", path, e.Message);
            }

            return _denied;
        }
    }

    // Hex, upper case, without separators or leading zeros of a serial (0x01 and 01 name the same serial).
    private static string Normalize(string text)
    {
        string hex = string.Concat(text.Where(c => !char.IsWhiteSpace(c) && c != ':')).ToUpperInvariant();
        if (hex.StartsWith("0X", StringComparison.Ordinal))
        {
            hex = hex[2..];
        }

        return hex.Length == 64 ? hex : hex.TrimStart('0');
    }
}
