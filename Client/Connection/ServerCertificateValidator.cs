using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Jobs.Client.Connection;

/// <summary>
/// Trusts a server certificate only if it chains to the configured CA (never the system store)
/// and matches the expected name.
/// </summary>
/// <remarks>
/// Failures throw <see cref="AuthenticationException"/> rather than return false: SslStream then
/// fails the handshake with our reason as the innermost exception, which the user gets to see
/// instead of a generic "rejected by the callback".
/// </remarks>
internal sealed class ServerCertificateValidator
{
    private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");

    private readonly X509Certificate2Collection _trustedRoots;
    private readonly string _trustedRootsName;

    /// <param name="trustedRoots">The only roots a server chain may end in.</param>
    /// <param name="trustedRootsName">How to name the roots in error messages (their file).</param>
    public ServerCertificateValidator(X509Certificate2Collection trustedRoots, string trustedRootsName)
    {
        _trustedRoots = trustedRoots;
        _trustedRootsName = trustedRootsName;
    }

    /// <summary>The chain policy for the handshake itself: only the trusted roots, serverAuth, no revocation fetches.</summary>
    public X509ChainPolicy Policy()
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(_trustedRoots);
        policy.ApplicationPolicy.Add(ServerAuthentication);
        return policy;
    }

    /// <summary>A <see cref="RemoteCertificateValidationCallback"/>.</summary>
    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            throw new AuthenticationException("the server sent no certificate");
        }

        // SslStream checked the name against the target host, and the chain with Policy(); both
        // verdicts stand. A chain failure is rebuilt below only to say why.
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            var name = sender is SslStream { TargetHostName: { Length: > 0 } host } ? $" '{host}'" : string.Empty;
            throw new AuthenticationException($"the server certificate does not match the name{name}");
        }

        if ((errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            throw new AuthenticationException($"the server certificate was rejected: {errors}");
        }

        if (errors == SslPolicyErrors.None)
        {
            // The handshake checked the chain with Policy(): our roots alone, serverAuth, validity.
            return true;
        }

        using var customChain = new X509Chain { ChainPolicy = Policy() };
        var policy = customChain.ChainPolicy;
        if (chain is not null)
        {
            // Intermediates the server sent along.
            policy.ExtraStore.AddRange(chain.ChainPolicy.ExtraStore);
        }

        var owned = certificate as X509Certificate2;
        var leaf = owned ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        try
        {
            if (!customChain.Build(leaf))
            {
                var reasons = customChain.ChainStatus
                    .Select(status => status.StatusInformation.Trim())
                    .Where(reason => reason.Length > 0)
                    .Distinct();
                throw new AuthenticationException(
                    $"the server certificate is not trusted by '{_trustedRootsName}': {string.Join("; ", reasons)}");
            }
        }
        finally
        {
            foreach (var element in customChain.ChainElements)
            {
                element.Certificate.Dispose();
            }

            if (owned is null)
            {
                leaf.Dispose();
            }
        }

        return true;
    }
}
