using System.Diagnostics;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Jobs.Protos;
using Jobs.TestSupport;

namespace Jobs.EndToEnd.Tests;

/// <summary>Revocation through the deny list: of calls already open, of every kind of call, and when the file is missing.</summary>
public sealed class RevocationTests : IAsyncLifetime
{
    private const string UnknownId = "019365c8-7571-79f2-8991-9be713d63d56";
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(5);
    private readonly string _denyList = Path.Combine(Path.GetTempPath(), $"jobs-deny-{Guid.NewGuid():N}.txt");
    private readonly List<string> _jobs = [];
    private ServerProcess _server = null!;

    public async Task InitializeAsync()
    {
        // An empty file is a valid, empty list.
        await File.WriteAllTextAsync(_denyList, string.Empty);
        _server = await ServerProcess.StartCombinedAsync($"--Gateway:DenyList={_denyList}");
    }

    public async Task DisposeAsync()
    {
        foreach (string id in _jobs)
        {
            var (client, channel) = GrpcClients.Create(_server.Endpoint, GrpcClients.Admin);
            using (channel)
            {
                await client.KillAsync(new KillRequest { JobId = id, Grace = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.Zero) });
            }
        }

        await _server.DisposeAsync();
        File.Delete(_denyList);
    }

    [Theory(Timeout = 120_000)]
    [InlineData("quiet")]
    [InlineData("dripping")]
    public async Task Revoking_a_certificate_ends_its_open_follow_within_seconds_while_another_identitys_goes_on(string job)
    {
        string[] command = job == "quiet" ? ["sh", "-c", "echo started; exec sleep 600"] : [TestChildProgram.Path, "drip", "3000", "0.2"];
        string revokedJob = await RunAsync(GrpcClients.Client1, command);
        string otherJob = await RunAsync(GrpcClients.Client2, TestChildProgram.Path, "drip", "3000", "0.2");
        var (client1, channel1) = GrpcClients.Create(_server.Endpoint, GrpcClients.Client1);
        var (client2, channel2) = GrpcClients.Create(_server.Endpoint, GrpcClients.Client2);
        using (channel1)
        using (channel2)
        {
            using var revokedFollow = client1.Logs(new LogsRequest { JobId = revokedJob });
            using var otherFollow = client2.Logs(new LogsRequest { JobId = otherJob });
            Assert.True(await revokedFollow.ResponseStream.MoveNext());
            Assert.True(await otherFollow.ResponseStream.MoveNext());

            await File.WriteAllTextAsync(_denyList, GrpcClients.Client1.SerialNumber + "\n");
            var clock = Stopwatch.StartNew();
            var ended = await Assert.ThrowsAsync<RpcException>(() => DrainAsync(revokedFollow.ResponseStream));
            var tookEffect = clock.Elapsed;

            // The other identity's follow still delivers output written after the revocation took effect.
            long seen = otherFollow.ResponseStream.Current.Chunk.Offset;
            while (await otherFollow.ResponseStream.MoveNext() && otherFollow.ResponseStream.Current.Chunk.Offset == seen)
            {
            }

            Assert.Equal(StatusCode.Unauthenticated, ended.StatusCode);
            Assert.Equal($"the client certificate of 'client1' (serial {GrpcClients.Client1.SerialNumber}) is revoked; the call was ended", ended.Status.Detail);
            Assert.True(tookEffect < Soon, $"the follow went on for {tookEffect} after the revocation");
            Assert.True(otherFollow.ResponseStream.Current.Chunk.Offset > seen);
            await WaitForLogAsync($"audit call=Logs identity=client1 job={revokedJob} command=- user=- outcome=Unauthenticated");
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Revoking_a_certificate_ends_its_open_health_watch_and_reflection_calls_and_refuses_new_ones()
    {
        var (_, channel) = GrpcClients.Create(_server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            var health = new Health.HealthClient(channel);
            var reflection = new ServerReflection.ServerReflectionClient(channel);
            using var watch = health.Watch(new HealthCheckRequest());
            using var reflecting = reflection.ServerReflectionInfo();
            await reflecting.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = string.Empty });
            Assert.True(await watch.ResponseStream.MoveNext());
            Assert.True(await reflecting.ResponseStream.MoveNext());

            await File.WriteAllTextAsync(_denyList, GrpcClients.Client1.SerialNumber + "\n");
            var clock = Stopwatch.StartNew();
            var watchEnded = await Assert.ThrowsAsync<RpcException>(() => DrainAsync(watch.ResponseStream));
            var reflectionEnded = await Assert.ThrowsAsync<RpcException>(() => DrainAsync(reflecting.ResponseStream));
            var tookEffect = clock.Elapsed;
            using var again = reflection.ServerReflectionInfo();
            await StreamingCalls.WriteFirstAsync(again, new ServerReflectionRequest { ListServices = string.Empty });
            var refused = await Assert.ThrowsAsync<RpcException>(() => DrainAsync(again.ResponseStream));

            Assert.Equal(StatusCode.Unauthenticated, watchEnded.StatusCode);
            Assert.Equal(StatusCode.Unauthenticated, reflectionEnded.StatusCode);
            Assert.True(tookEffect < Soon, $"the calls went on for {tookEffect} after the revocation");
            Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
            Assert.Contains("is revoked", refused.Status.Detail);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task A_revoked_certificates_attach_through_the_CLI_says_it_is_revoked_not_cancelled()
    {
        // The server refuses the attach from its headers; the CLI's first write may come after
        // that, and must not turn the refusal into "cancelled".
        string dir = Directory.CreateTempSubdirectory("jobs-e2e-revoked-").FullName;
        try
        {
            using var certificate = GrpcClients.Mint("attacher-" + Guid.NewGuid().ToString("N")[..8]);
            Jobs.CertGen.DevCertificates.WritePem(certificate, Path.Combine(dir, "c.pem"), Path.Combine(dir, "c.key"));
            string id = await RunAsync(certificate, "sh", "-c", "echo started; exec sleep 600");
            await File.WriteAllTextAsync(_denyList, certificate.SerialNumber + "\n");

            var attach = await Cli.RunAsync(_server.Endpoint, "--cert", Path.Combine(dir, "c.pem"), "--key", Path.Combine(dir, "c.key"), "attach", "--no-stdin", id);

            string name = certificate.GetNameInfo(System.Security.Cryptography.X509Certificates.X509NameType.SimpleName, forIssuer: false);
            Assert.Equal(5, attach.ExitCode);
            Assert.Equal($"jobs: the client certificate of '{name}' (serial {certificate.SerialNumber}) is revoked\n", attach.Stderr);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task A_revoked_kill_waiting_out_a_long_grace_ends_within_seconds()
    {
        // A kill with a long grace waits for the job's end in the gateway, with the call's token: a
        // revocation ends it like any call that heeds cancellation (UNAUTHENTICATED); a reset
        // (CANCELLED) would do too. Either way it must not go on for the grace.
        string id = await RunAsync(GrpcClients.Client1, TestChildProgram.Path, "ignore-sigterm", "600");
        var (client, channel) = GrpcClients.Create(_server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            // Its first line says SIGTERM is ignored from now on.
            using var logs = client.Logs(new LogsRequest { JobId = id });
            Assert.True(await logs.ResponseStream.MoveNext());
            using var kill = client.KillAsync(new KillRequest { JobId = id, Grace = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(120)) });
            await Task.Delay(500);
            Assert.False(kill.ResponseAsync.IsCompleted);

            await File.WriteAllTextAsync(_denyList, GrpcClients.Client1.SerialNumber + "\n");
            var clock = Stopwatch.StartNew();
            var ended = await Assert.ThrowsAsync<RpcException>(() => kill.ResponseAsync);
            var tookEffect = clock.Elapsed;

            Assert.Contains(ended.StatusCode, new[] { StatusCode.Unauthenticated, StatusCode.Cancelled });
            Assert.True(tookEffect < Soon, $"the kill call went on for {tookEffect} after the revocation");
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task A_deny_list_deleted_at_run_time_keeps_its_revocations_and_logs_one_error()
    {
        using var certificate = GrpcClients.Mint("revoked-" + Guid.NewGuid().ToString("N")[..8]);
        var (client, channel) = GrpcClients.Create(_server.Endpoint, certificate);
        using (channel)
        {
            var ps = () => client.PsAsync(new PsRequest { JobId = UnknownId }).ResponseAsync;
            await File.WriteAllTextAsync(_denyList, certificate.SerialNumber + "\n");
            Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(ps)).StatusCode);

            File.Delete(_denyList);
            var whileMissing = new List<StatusCode>();
            for (int i = 0; i < 4; i++)
            {
                // Calls and watcher ticks both look at the missing file.
                whileMissing.Add((await Assert.ThrowsAsync<RpcException>(ps)).StatusCode);
                await Task.Delay(600);
            }

            string error = $"the deny list '{_denyList}' (Gateway:DenyList) does not exist or is not a file; an empty file revokes nothing; the last good deny list (1 revoked certificates) stays in force";
            await WaitForLogAsync(error);
            int errors = Occurrences(_server.Log, error);

            await File.WriteAllTextAsync(_denyList, string.Empty);
            var afterRestore = await Assert.ThrowsAsync<RpcException>(ps);

            Assert.All(whileMissing, code => Assert.Equal(StatusCode.Unauthenticated, code));
            Assert.Equal(1, errors);
            Assert.Contains("fail: Jobs.Gateway.Security.DenyList", _server.Log);
            Assert.Equal(StatusCode.NotFound, afterRestore.StatusCode);
        }
    }

    [Theory(Timeout = 120_000)]
    [InlineData("missing")]
    [InlineData("a directory")]
    public async Task The_server_refuses_to_start_with_a_deny_list_it_cannot_read(string what)
    {
        string path = what == "missing" ? Path.Combine(Path.GetTempPath(), $"jobs-deny-{Guid.NewGuid():N}.txt") : Directory.CreateTempSubdirectory("jobs-deny-").FullName;
        try
        {
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerProcess.StartCombinedAsync($"--Gateway:DenyList={path}"));

            Assert.Contains("the server exited during start (code 1)", refused.Message);
            Assert.Contains($"Jobs gateway cannot start: the deny list '{path}' (Gateway:DenyList) does not exist or is not a file", refused.Message);
        }
        finally
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path);
            }
        }
    }

    private static async Task DrainAsync<T>(IAsyncStreamReader<T> stream)
    {
        while (await stream.MoveNext(CancellationToken.None))
        {
        }
    }

    private static int Occurrences(string text, string part)
    {
        int count = 0;
        for (int at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    // The server's console log is written asynchronously, after the call has been answered.
    private async Task WaitForLogAsync(string line)
    {
        var deadline = DateTime.UtcNow + Soon;
        while (!_server.Log.Contains(line, StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Contains(line, _server.Log);
    }

    private async Task<string> RunAsync(System.Security.Cryptography.X509Certificates.X509Certificate2 owner, params string[] command)
    {
        var request = new RunRequest { Command = command[0] };
        request.Args.AddRange(command[1..]);
        var (client, channel) = GrpcClients.Create(_server.Endpoint, owner);
        using (channel)
        {
            string id = (await client.RunAsync(request)).JobId;
            _jobs.Add(id);
            return id;
        }
    }
}
