using Grpc.Core;
using Jobs.Protos;

namespace Jobs.EndToEnd.Tests;

/// <summary>The wire contract as a third-party client sees it: status codes and the TLS handshake.</summary>
[Collection(ServerCollection.Name)]
public sealed class GrpcStatusTests(ServerFixture fixture)
{
    [Theory(Timeout = 60_000)]
    [InlineData("", StatusCode.InvalidArgument)]
    [InlineData("jobs-no-such-program", StatusCode.FailedPrecondition)]
    [InlineData("/etc/passwd", StatusCode.FailedPrecondition)]
    public async Task Run_refuses_what_cannot_start(string command, StatusCode expected)
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            var error = await Assert.ThrowsAsync<RpcException>(async () => await client.RunAsync(new RunRequest { Command = command }));

            Assert.Equal(expected, error.StatusCode);
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData("", StatusCode.InvalidArgument)]
    [InlineData("12345", StatusCode.InvalidArgument)]
    [InlineData("019365c8-7571-79f2-8991-9be713d63d56", StatusCode.NotFound)]
    public async Task Ps_wait_kill_and_logs_refuse_bad_and_unknown_ids(string id, StatusCode expected)
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            Assert.Equal(expected, (await Assert.ThrowsAsync<RpcException>(async () => await client.PsAsync(new PsRequest { JobId = id }))).StatusCode);
            Assert.Equal(expected, (await Assert.ThrowsAsync<RpcException>(async () =>
                await client.WaitAsync(new WaitRequest { JobId = id }, deadline: DateTime.UtcNow.AddSeconds(10)))).StatusCode);
            Assert.Equal(expected, (await Assert.ThrowsAsync<RpcException>(async () => await client.KillAsync(new KillRequest { JobId = id }))).StatusCode);
            Assert.Equal(expected, (await Assert.ThrowsAsync<RpcException>(async () =>
            {
                using var logs = client.Logs(new LogsRequest { JobId = id });
                await logs.ResponseStream.MoveNext(CancellationToken.None);
            })).StatusCode);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_client_without_a_certificate_fails_the_handshake()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, clientCertificate: null);
        using (channel)
        {
            var error = await Assert.ThrowsAsync<RpcException>(async () => await client.PsAsync(new PsRequest { JobId = "019365c8-7571-79f2-8991-9be713d63d56" }));

            AssertRefusedByTls(error);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_client_certificate_from_another_CA_fails_the_handshake()
    {
        using var foreign = GrpcClients.ForeignClient();
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, foreign);
        using (channel)
        {
            var error = await Assert.ThrowsAsync<RpcException>(async () => await client.PsAsync(new PsRequest { JobId = "019365c8-7571-79f2-8991-9be713d63d56" }));

            AssertRefusedByTls(error);
        }
    }

    // TLS 1.3 clients finish their side of the handshake before the server checks their certificate,
    // so the refusal reaches the client as a connection that closed before HTTP/2 started: gRPC reports
    // that as Unavailable or, when the request was already written, Internal.
    private static void AssertRefusedByTls(RpcException error)
    {
        Assert.Contains(error.StatusCode, new[] { StatusCode.Unavailable, StatusCode.Internal });
        // The whole text on failure: the assertion's own message cuts it short.
        string text = error.Status.Detail + error.Status.DebugException;
        Assert.True(text.Contains("HTTP/2", StringComparison.Ordinal), $"no mention of HTTP/2 in: {text}");
    }
}
