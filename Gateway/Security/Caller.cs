using System.Security.Cryptography.X509Certificates;
using Grpc.Core;

namespace Jobs.Gateway.Security;

/// <summary>Who makes a call: the common name of a client certificate Kestrel has already validated (client CA, clientAuth, validity).</summary>
/// <param name="Name">The certificate subject's common name.</param>
/// <param name="IsAdmin">True when the name is one of <c>Gateway:Admins</c>.</param>
/// <param name="Certificate">The certificate the call came with.</param>
public sealed record Caller(string Name, bool IsAdmin, X509Certificate2 Certificate)
{
    private const string CommonNameOid = "2.5.4.3";
    private static readonly object Key = new();

    /// <summary>True when this caller may see and act on a job started by <paramref name="owner"/>.</summary>
    public bool MayAccess(string owner) => IsAdmin || string.Equals(owner, Name, StringComparison.Ordinal);

    /// <summary>The caller of a call, as <see cref="CallerInterceptor"/> found it.</summary>
    public static Caller Of(ServerCallContext context) =>
        context.UserState.TryGetValue(Key, out object? caller) ? (Caller)caller : throw new InvalidOperationException("the call has no caller");

    internal void AttachTo(ServerCallContext context) => context.UserState[Key] = this;

    /// <summary>The subject's one common name; null when there is none or more than one.</summary>
    public static string? CommonName(X509Certificate2 certificate)
    {
        string? found = null;
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (rdn.HasMultipleElements || rdn.GetSingleElementType().Value != CommonNameOid)
            {
                continue;
            }

            if (found is not null)
            {
                return null;
            }

            found = rdn.GetSingleElementValue();
        }

        return string.IsNullOrWhiteSpace(found) ? null : found;
    }
}
