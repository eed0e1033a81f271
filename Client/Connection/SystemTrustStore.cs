using System.Runtime.InteropServices;

namespace Jobs.Client.Connection;

/// <summary>
/// Keeps .NET from reading the operating system's trust store, which the CLI never trusts anyway:
/// the server is checked against <c>--server-ca</c> alone (see <see cref="ServerCertificateValidator"/>)
/// and the client certificate's intermediates come from its own file.
/// </summary>
/// <remarks>
/// On Linux every <c>X509Chain.Build</c>, custom root trust included, first loads the whole system
/// store (OpenSSL's default file and directory: some 300 certificates here) to look for
/// intermediates. That load was about three quarters of a <c>jobs ps</c> run. .NET takes the store's
/// location from OpenSSL's <c>SSL_CERT_FILE</c> and <c>SSL_CERT_DIR</c>, read from the native
/// environment (<c>getenv</c>) when the store is first needed; the managed
/// <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not reach it on Unix, hence
/// <c>setenv</c>. Empty values name no store at all.
/// </remarks>
internal static partial class SystemTrustStore
{
    private static int s_disabled;

    /// <summary>Call before the first TLS handshake; once is enough, later calls do nothing.</summary>
    public static void DisableForThisProcess()
    {
        if (!OperatingSystem.IsLinux() || Interlocked.Exchange(ref s_disabled, 1) == 1)
        {
            return;
        }

        // Before any chain is built, while no other thread reads the environment.
        _ = SetEnvironment("SSL_CERT_FILE", string.Empty, overwrite: 1);
        _ = SetEnvironment("SSL_CERT_DIR", string.Empty, overwrite: 1);
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnvironment(string name, string value, int overwrite);
}
