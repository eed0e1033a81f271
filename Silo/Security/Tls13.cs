using System.Net.Security;

namespace Jobs.Silo.Security;

/// <summary>The one TLS profile of every endpoint: TLS 1.3 only, these suites in this order.</summary>
public static class Tls13
{
    /// <summary>TLS 1.3 suites in the order the server prefers them.</summary>
    public static readonly IReadOnlyList<TlsCipherSuite> CipherSuites =
    [
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
    ];

    /// <summary>The suites as a policy for SslStream; null on Windows, where SChannel does not let a process choose.</summary>
    public static CipherSuitesPolicy? Policy() => OperatingSystem.IsWindows() ? null : new CipherSuitesPolicy(CipherSuites);

    /// <summary>The suites, for a start-up log line.</summary>
    public static string Describe() =>
        OperatingSystem.IsWindows() ? "the OS policy (Windows does not let a process choose)" : string.Join(", ", CipherSuites);
}
