using System.Security.Cryptography.X509Certificates;

namespace Jobs.Gateway.Security;

/// <summary>
/// Accepts a client certificate only if it chains to the configured client CA (nothing from the
/// system store), is within its validity period, and is meant for client authentication.
/// </summary>
public sealed class ClientCertificateValidator(X509Certificate2Collection trustedRoots)
{
    private const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";

    /// <summary>True when the certificate may authenticate a client.</summary>
    public bool IsValid(X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(trustedRoots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(ClientAuthentication));
        chain.ChainPolicy.VerificationTime = DateTime.Now;
        try
        {
            return chain.Build(certificate);
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                element.Certificate.Dispose();
            }
        }
    }
}
