using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Jobs.Client.Connection;

/// <summary>
/// Trusts a server certificate only on the handshake's own verdict, reached with <see cref="Policy"/>
/// (the configured CA alone, never the system store), plus the expected name and serverAuth.
/// </summary>
/// <remarks>
/// There is no second chain build here: two verdicts on one certificate invite the day they differ,
/// and whichever accepts wins. A chain failure is explained from the handshake's own chain status.
/// Failures throw <see cref="AuthenticationException"/> rather than return false: SslStream then
/// fails the handshake with our reason as the innermost exception, which the user gets to see
/// instead of a generic "rejected by the callback".
/// </remarks>
internal sealed class ServerCertificateValidator
{
    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";

    private readonly X509Certificate2Collection _trustedRoots;
    private readonly string _trustedRootsName;

    /// <param name="trustedRoots">The only roots a server chain may end in.</param>
    /// <param name="trustedRootsName">How to name the roots in error messages (their file).</param>
    public ServerCertificateValidator(X509Certificate2Collection trustedRoots, string trustedRootsName)
    {
        _trustedRoots = trustedRoots;
        _trustedRootsName = trustedRootsName;
    }

    /// <summary>
    /// The chain policy the handshake must use (<c>SslClientAuthenticationOptions.CertificateChainPolicy</c>):
    /// only the trusted roots, serverAuth, no revocation fetches. <see cref="Validate"/> refuses a
    /// verdict reached with any other trust.
    /// </summary>
    public X509ChainPolicy Policy()
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(_trustedRoots);
        policy.ApplicationPolicy.Add(new Oid(ServerAuthentication));
        return policy;
    }

    /// <summary>A <see cref="RemoteCertificateValidationCallback"/>.</summary>
    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            throw new AuthenticationException("the server sent no certificate");
        }

        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            var name = sender is SslStream { TargetHostName: { Length: > 0 } host } ? $" '{host}'" : string.Empty;
            throw new AuthenticationException($"the server certificate does not match the name{name}");
        }

        // The verdict counts only if it was reached with our roots alone: a handshake left on the
        // system store would accept any CA the machine trusts.
        if (chain is null || !IsPolicyOfTrustedRoots(chain.ChainPolicy))
        {
            throw new AuthenticationException($"the server certificate was not checked against '{_trustedRootsName}' (the TLS handshake used another trust)");
        }

        if (errors != SslPolicyErrors.None)
        {
            throw new AuthenticationException(errors == SslPolicyErrors.RemoteCertificateChainErrors
                ? $"the server certificate is not trusted by '{_trustedRootsName}': {Reasons(chain)}"
                : $"the server certificate was rejected: {errors}");
        }

        // A chain check with serverAuth passes a certificate that names no usage at all (good for
        // anything); a server must say it is one, as the gateway insists at start.
        if (!NamesServerAuthentication(certificate))
        {
            throw new AuthenticationException("the server certificate is not meant for TLS servers (no serverAuth extended key usage)");
        }

        return true;
    }

    private bool IsPolicyOfTrustedRoots(X509ChainPolicy policy) =>
        policy.TrustMode == X509ChainTrustMode.CustomRootTrust
        && policy.CustomTrustStore.Count > 0
        && policy.CustomTrustStore.All(root => _trustedRoots.Any(trusted => trusted.RawDataMemory.Span.SequenceEqual(root.RawDataMemory.Span)));

    private static bool NamesServerAuthentication(X509Certificate certificate)
    {
        if (certificate is X509Certificate2 certificate2)
        {
            return HasServerAuthentication(certificate2);
        }

        using var loaded = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return HasServerAuthentication(loaded);
    }

    private static bool HasServerAuthentication(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>()
            .Any(extension => extension.EnhancedKeyUsages.Cast<Oid>().Any(usage => usage.Value == ServerAuthentication));

    private static string Reasons(X509Chain chain)
    {
        var reasons = chain.ChainStatus
            .Select(status => status.StatusInformation.Trim())
            .Where(reason => reason.Length > 0)
            .Distinct()
            .ToList();
        return reasons.Count > 0 ? string.Join("; ", reasons) : "the chain does not end in it";
    }
}
