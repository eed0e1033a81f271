using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Jobs.Gateway.Security;

/// <summary>
/// One good read of the deny list: serial numbers and SHA-256 fingerprints (hex, colons optional),
/// one per line, <c>#</c> starting a comment. An empty file is an empty list.
/// </summary>
public sealed class DenyListFile
{
    private readonly FrozenSet<string> _entries;

    private DenyListFile(FrozenSet<string> entries, FileVersion version)
    {
        _entries = entries;
        Version = version;
    }

    /// <summary>The list of a gateway with no deny list configured.</summary>
    public static DenyListFile None { get; } = new(FrozenSet<string>.Empty, default);

    /// <summary>How many certificates the list revokes.</summary>
    public int Count => _entries.Count;

    internal FileVersion Version { get; }

    /// <summary>Reads the list.</summary>
    /// <exception cref="InvalidOperationException">The file does not exist or cannot be read; the message names it.</exception>
    public static DenyListFile Read(string path)
    {
        // Stat before reading: a change made during the read shows as a newer version next time.
        var version = FileVersion.Of(path);
        if (!version.Exists)
        {
            throw new InvalidOperationException($"the deny list '{path}' (Gateway:DenyList) does not exist or is not a file; an empty file revokes nothing");
        }

        try
        {
            var entries = File.ReadLines(path).Select(l => Normalize(l.Split('#')[0])).Where(l => l.Length > 0).ToFrozenSet(StringComparer.Ordinal);
            return new DenyListFile(entries, version);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"cannot read the deny list '{path}' (Gateway:DenyList): {e.Message}", e);
        }
    }

    /// <summary>True when the certificate's serial number or fingerprint is on the list.</summary>
    public bool Contains(X509Certificate2 certificate) =>
        _entries.Count > 0
        && (_entries.Contains(Normalize(certificate.SerialNumber)) || _entries.Contains(certificate.GetCertHashString(HashAlgorithmName.SHA256)));

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
