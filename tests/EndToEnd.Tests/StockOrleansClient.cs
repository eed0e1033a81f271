using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Jobs.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Connections.Security;
using Orleans.Hosting;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// An Orleans client as anyone on the machine could write it, with nothing of the project's but the
/// grain interface: it asks a server's Orleans port to run a command as the admin.
/// </summary>
public static class StockOrleansClient
{
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Connects to <paramref name="port"/> and starts <c>touch MARKER</c> as a job of "admin".
    /// Returns null when the job was started, else what stopped it: a refused Orleans 10 client
    /// retries until it is cancelled, so that is a cancellation after the attempt's allowance.
    /// </summary>
    /// <param name="port">An Orleans port (gateway or silo).</param>
    /// <param name="credential">What the client brings.</param>
    /// <param name="marker">The file the job would create.</param>
    public static async Task<Exception?> TryRunAsync(int port, OrleansCredential credential, string marker)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleansClient(client =>
        {
            client.UseLocalhostClustering(port);

            if (credential.Tls)
            {
                client.UseTls(tls =>
                {
                    tls.LocalCertificate = credential.Certificate;
                    tls.ClientCertificateMode = credential.Certificate is null ? RemoteCertificateMode.AllowCertificate : RemoteCertificateMode.RequireCertificate;
                    tls.AllowAnyRemoteCertificate();
                });
            }
        });
        using var host = builder.Build();
        using var timeout = new CancellationTokenSource(AttemptTimeout);
        try
        {
            await host.StartAsync(timeout.Token);
            var job = host.Services.GetRequiredService<IClusterClient>().GetGrain<IJobGrain>(Guid.CreateVersion7().ToString());
            await job.StartAsync(new JobSpec("touch", [marker]) { Owner = "admin" }).WaitAsync(timeout.Token);
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException || timeout.IsCancellationRequested)
        {
            return e;
        }
        finally
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await host.StopAsync(stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or Orleans.Runtime.OrleansException or InvalidOperationException)
            {
                // A client that never connected may not stop cleanly; it holds nothing of the server's.
            }
        }
    }

    /// <summary>
    /// A bare TLS 1.3 handshake with <paramref name="certificate"/> (trusting any server): true when the
    /// server kept the connection after it, false when it refused it (an alert, or the connection closed).
    /// </summary>
    /// <param name="port">An Orleans port on 127.0.0.1.</param>
    /// <param name="certificate">The client certificate, if any.</param>
    /// <param name="source">The loopback address to connect from (the server sees it as the peer); 127.0.0.1 when null.</param>
    public static async Task<bool> HandshakeAcceptedAsync(int port, X509Certificate2? certificate, System.Net.IPAddress? source = null)
    {
        using var tcp = new TcpClient(new System.Net.IPEndPoint(source ?? System.Net.IPAddress.Loopback, 0));
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, port);
        await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, _, _, _) => true);
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                EnabledSslProtocols = SslProtocols.Tls13,
                ClientCertificates = certificate is null ? null : [certificate],
            });

            // In TLS 1.3 the server judges the client's certificate after the client's side is done:
            // a refusal arrives as an alert on the first read, an acceptance as silence (it waits
            // for the Orleans preamble) or data.
            var buffer = new byte[1];
            var read = tls.ReadAsync(buffer).AsTask();
            var first = await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(3)));
            return first != read || await read > 0;
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            return false;
        }
    }
}
