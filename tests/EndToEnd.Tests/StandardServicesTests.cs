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
            Assert.Equal(["Run", "Logs", "Ps", "Kill", "Remove"], file.Service.Single().Method.Select(m => m.Name));
        }
    }
}
