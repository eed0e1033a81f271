using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;

namespace Jobs.EndToEnd.Tests;

/// <summary>Health checking and server reflection, the way standard gRPC tools call them, with a client certificate.</summary>
[Collection(ServerCollection.Name)]
public sealed class StandardServicesTests(ServerFixture fixture)
{
    [Fact(Timeout = 60_000)]
    public async Task The_health_service_says_serving()
    {
        var (_, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            var health = new Health.HealthClient(channel);

            var response = await health.CheckAsync(new HealthCheckRequest());

            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Reflection_lists_the_jobs_service_and_describes_it()
    {
        var (_, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            var reflection = new ServerReflection.ServerReflectionClient(channel);
            using var call = reflection.ServerReflectionInfo();

            await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = string.Empty });
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();

            await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = "jobs.v1.Jobs" });
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            var file = Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto[0]);
            await call.RequestStream.CompleteAsync();

            Assert.Contains("jobs.v1.Jobs", services);
            Assert.Contains("grpc.health.v1.Health", services);
            Assert.Equal(["Run", "Logs", "Ps", "Wait", "Kill", "Remove", "List", "Nodes", "Drain", "Attach"], file.Service.Single().Method.Select(m => m.Name));
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task A_prometheus_scrape_shows_jobs_started_and_finished()
    {
        int port = FreePorts.Next();
        await using var server = await ServerProcess.StartCombinedAsync($"--Gateway:MetricsListen=127.0.0.1:{port}");
        var run = await Cli.RunAsync(server.Endpoint, "run", "--wait", "--", "sh", "-c", "echo metered");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };

        // The exporter caches a scrape briefly; the job's end is recorded before run --wait returns.
        string metrics = string.Empty;
        for (int attempt = 0; attempt < 20 && !metrics.Contains("outcome=\"exited\"", StringComparison.Ordinal); attempt++)
        {
            metrics = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
            await Task.Delay(250);
        }

        Assert.Equal(0, run.ExitCode);
        Assert.Matches(@"(?m)^jobs_started(_job)?_total(\{[^}]*\})? [1-9]", metrics);
        Assert.Matches(@"(?m)^jobs_finished(_job)?_total\{[^}]*outcome=""exited""[^}]*\} [1-9]", metrics);
        Assert.Matches(@"(?m)^jobs_output(_bytes)?_total\{[^}]*stream=""stdout""[^}]*\} [1-9]", metrics);
        Assert.Contains("jobs_rpc_duration", metrics);
    }

    [Fact(Timeout = 120_000)]
    public async Task The_orleans_dashboard_is_served_on_its_own_port_when_configured()
    {
        int port = FreePorts.Next();
        await using var server = await ServerProcess.StartCombinedAsync($"--Gateway:DashboardListen=127.0.0.1:{port}");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };

        var page = await http.GetAsync($"http://127.0.0.1:{port}/");

        Assert.Equal(System.Net.HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<title>Orleans Dashboard</title>", await page.Content.ReadAsStringAsync());
    }
}
