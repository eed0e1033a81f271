using System.Net;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// The metrics and dashboard routes answer only on their own plain-HTTP listeners, and the gRPC
/// services only on the mutual-TLS one, whatever Host header a client sends.
/// </summary>
public sealed class OperationalPortsTests(OperationalPortsFixture fixture) : IClassFixture<OperationalPortsFixture>
{
    [Theory(Timeout = 60_000)]
    [InlineData("metrics", "/metrics")]
    [InlineData("dashboard", "/")]
    [InlineData("dashboard", "/index.min.js")]
    [InlineData("dashboard", "/version")]
    [InlineData("dashboard", "/DashboardCounters")]
    public async Task Operational_paths_answer_on_their_own_port_and_not_on_the_mtls_port_with_a_forged_host(string listener, string path)
    {
        int port = listener == "metrics" ? fixture.MetricsPort : fixture.DashboardPort;
        string forgedHost = listener == "metrics" ? $"127.0.0.1:{port}" : $"localhost:{port}";
        using var plain = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };

        var own = await plain.GetAsync($"http://127.0.0.1:{port}{path}");
        var forged = await GetOverMutualTlsAsync(GrpcClients.Client1, path, forgedHost);
        var forgedByRevoked = await GetOverMutualTlsAsync(fixture.Revoked, path, forgedHost);

        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, forged.Status);
        Assert.Equal(HttpVersion.Version20, forged.Version);
        Assert.Equal(HttpStatusCode.NotFound, forgedByRevoked.Status);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("metrics")]
    [InlineData("dashboard")]
    public async Task Grpc_services_are_not_served_on_the_plain_http_ports(string listener)
    {
        int port = listener == "metrics" ? fixture.MetricsPort : fixture.DashboardPort;

        // As HTTP/1.1 with gRPC's content type, the routes are simply not there.
        using var plain = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        using var body = new ByteArrayContent([0, 0, 0, 0, 0]);
        body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        var http1 = await plain.PostAsync($"http://127.0.0.1:{port}/grpc.health.v1.Health/Check", body);

        // As gRPC (HTTP/2 without TLS), the listener does not speak the protocol at all.
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var grpc = await Assert.ThrowsAsync<RpcException>(async () =>
            await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(20)));

        Assert.Equal(HttpStatusCode.NotFound, http1.StatusCode);
        Assert.Contains(grpc.StatusCode, new[] { StatusCode.Unavailable, StatusCode.Internal });
    }

    [Fact(Timeout = 60_000)]
    public async Task Grpc_still_answers_on_the_mtls_port_and_a_revoked_certificate_is_refused_there()
    {
        var (_, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        var (_, revokedChannel) = GrpcClients.Create(fixture.Server.Endpoint, fixture.Revoked);
        using (channel)
        using (revokedChannel)
        {
            var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest());
            var refused = await Assert.ThrowsAsync<RpcException>(async () => await new Health.HealthClient(revokedChannel).CheckAsync(new HealthCheckRequest()));

            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
            Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        }
    }

    // HTTP/2 over TLS, exactly as a gRPC client reaches the port, with the client certificate.
    private async Task<(HttpStatusCode Status, Version Version)> GetOverMutualTlsAsync(X509Certificate2 certificate, string path, string host)
    {
        using var client = new HttpClient(GrpcClients.TlsHandler(certificate)) { Timeout = TimeSpan.FromSeconds(20) };
        using var request = new HttpRequestMessage(HttpMethod.Get, fixture.Server.Endpoint + path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.Host = host;
        using var response = await client.SendAsync(request);
        return (response.StatusCode, response.Version);
    }
}
