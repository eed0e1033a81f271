using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// A <see cref="FakeJobs"/> service on a free loopback port, with the development server
/// certificate, so that the real CLI connects to it as to the gateway. Disposing stops it.
/// </summary>
public sealed class FakeJobsServer : IAsyncDisposable
{
    private static readonly X509Certificate2 Certificate =
        X509Certificate2.CreateFromPemFile(Path.Combine(Repo.Certs, "server.pem"), Path.Combine(Repo.Certs, "server.key"));

    private readonly WebApplication _app;

    private FakeJobsServer(WebApplication app, int port)
    {
        _app = app;
        Endpoint = $"https://127.0.0.1:{port}";
    }

    public string Endpoint { get; }

    public static async Task<FakeJobsServer> StartAsync(FakeJobs service)
    {
        int port = FreePorts.Next();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(service);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            listen.UseHttps(https =>
            {
                https.ServerCertificate = Certificate;
                // The CLI always presents its certificate; who it is does not matter to a fake.
                https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                https.ClientCertificateValidation = (_, _, _) => true;
            });
        }));
        var app = builder.Build();
        app.MapGrpcService<FakeJobs>();
        await app.StartAsync();
        return new FakeJobsServer(app, port);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
