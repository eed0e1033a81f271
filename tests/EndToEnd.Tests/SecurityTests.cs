using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Jobs.Protos;

namespace Jobs.EndToEnd.Tests;

/// <summary>Who may do what, TLS refusals, revocation, abuse limits and the audit log, against one real server.</summary>
public sealed class SecurityTests : IAsyncLifetime
{
    private const string UnknownId = "019365c8-7571-79f2-8991-9be713d63d56";
    private readonly string _denyList = Path.Combine(Path.GetTempPath(), $"jobs-deny-{Guid.NewGuid():N}.txt");
    private readonly List<string> _jobs = [];
    private ServerProcess _server = null!;

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(_denyList, "# revoked client certificates\n");
        _server = await ServerProcess.StartCombinedAsync(
            $"--Gateway:DenyList={_denyList}",
            "--Jobs:MaxRunningJobsPerOwner=3",
            "--Gateway:Limits:MaxFollowersPerIdentity=2",
            "--Gateway:Limits:MaxRunBytes=4096",
            "--Gateway:Limits:CallsPerSecond=20",
            "--Gateway:Limits:CallBurst=30");
    }

    public async Task DisposeAsync()
    {
        // The admin may kill every job, whoever started it (minted identities are gone by now).
        foreach (string id in _jobs)
        {
            await CallAsync(GrpcClients.Admin, c => c.KillAsync(new KillRequest { JobId = id, Grace = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.Zero) }).ResponseAsync);
        }

        await _server.DisposeAsync();
        File.Delete(_denyList);
    }

    [Fact(Timeout = 120_000)]
    public async Task Another_identitys_job_is_not_found_like_a_missing_one_and_an_admin_may_act_on_it()
    {
        string id = await RunAsync(GrpcClients.Client1, "sleep", "600");

        foreach (string target in new[] { id, UnknownId })
        {
            var refusals = new[]
            {
                await RefusalAsync(GrpcClients.Client2, c => c.PsAsync(new PsRequest { JobId = target }).ResponseAsync),
                await RefusalAsync(GrpcClients.Client2, c => c.WaitAsync(new WaitRequest { JobId = target }, deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync),
                await RefusalAsync(GrpcClients.Client2, c => c.KillAsync(new KillRequest { JobId = target }).ResponseAsync),
                await RefusalAsync(GrpcClients.Client2, c => c.RemoveAsync(new RemoveRequest { JobId = target }).ResponseAsync),
                await RefusalAsync(GrpcClients.Client2, async c =>
                {
                    using var logs = c.Logs(new LogsRequest { JobId = target });
                    await logs.ResponseStream.MoveNext();
                    return 0;
                }),
            };
            foreach (var refusal in refusals)
            {
                Assert.Equal(StatusCode.NotFound, refusal.StatusCode);
                Assert.Equal($"job {target} not found", refusal.Status.Detail);
            }
        }

        var seen = await CallAsync(GrpcClients.Admin, c => c.PsAsync(new PsRequest { JobId = id }).ResponseAsync);
        var killed = await CallAsync(GrpcClients.Admin, c => c.KillAsync(new KillRequest { JobId = id }).ResponseAsync);
        Assert.Equal(JobState.Running, seen.Status.State);
        Assert.Equal(EndReason.KilledByRequest, killed.Status.EndReason);
        Assert.Equal(JobState.Killed, (await CallAsync(GrpcClients.Client1, c => c.PsAsync(new PsRequest { JobId = id }).ResponseAsync)).Status.State);

        // One audit event per call, allowed or refused, with identity, job, command and outcome.
        string log = _server.Log;
        Assert.Matches($"audit call=Run identity=client1 job={id} command=sleep 600 user=jobs-[0-9]+ outcome=OK", log);
        Assert.Contains($"audit call=Kill identity=client2 job={id} command=- user=- outcome=NotFound detail=job {id} not found", log);
        Assert.Contains($"audit call=Logs identity=client2 job={id} command=- user=- outcome=NotFound", log);
        Assert.Contains($"audit call=Wait identity=client2 job={id} command=- user=- outcome=NotFound", log);
        Assert.Contains($"audit call=Kill identity=admin job={id} command=- user=- outcome=OK", log);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("expired")]
    [InlineData("not yet valid")]
    [InlineData("without clientAuth")]
    public async Task A_client_certificate_that_is_not_valid_now_or_not_for_clients_fails_the_handshake(string what)
    {
        using var certificate = what switch
        {
            "expired" => GrpcClients.Mint("client1", startsIn: TimeSpan.FromDays(-10), lasts: TimeSpan.FromDays(9)),
            "not yet valid" => GrpcClients.Mint("client1", startsIn: TimeSpan.FromDays(1)),
            _ => GrpcClients.Mint("client1", usages: ["1.3.6.1.5.5.7.3.1"]),
        };

        var error = await RefusalAsync(certificate, c => c.PsAsync(new PsRequest { JobId = UnknownId }).ResponseAsync);

        AssertRefusedByTls(error);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_tls12_only_client_fails_the_handshake()
    {
        var (client, channel) = GrpcClients.Create(_server.Endpoint, GrpcClients.Client1, SslProtocols.Tls12);
        using (channel)
        {
            var error = await Assert.ThrowsAsync<RpcException>(async () => await client.PsAsync(new PsRequest { JobId = UnknownId }));

            Assert.Contains(error.StatusCode, new[] { StatusCode.Unavailable, StatusCode.Internal });
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_revoked_certificate_is_refused_from_the_next_call_on_by_serial_or_fingerprint()
    {
        using var certificate = GrpcClients.Mint("revoked-" + Guid.NewGuid().ToString("N")[..8]);
        var (client, channel) = GrpcClients.Create(_server.Endpoint, certificate);
        using (channel)
        {
            var ps = () => client.PsAsync(new PsRequest { JobId = UnknownId }).ResponseAsync;
            Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(ps)).StatusCode);

            await File.AppendAllTextAsync(_denyList, certificate.SerialNumber.ToLowerInvariant() + "  # by serial\n");
            var bySerial = await Assert.ThrowsAsync<RpcException>(ps);

            await File.WriteAllTextAsync(_denyList, string.Join(':', Convert.ToHexString(certificate.GetCertHash(HashAlgorithmName.SHA256)).Chunk(2).Select(c => new string(c))) + "\n");
            var byFingerprint = await Assert.ThrowsAsync<RpcException>(ps);

            await File.WriteAllTextAsync(_denyList, "# none\n");
            var after = await Assert.ThrowsAsync<RpcException>(ps);

            Assert.Equal(StatusCode.Unauthenticated, bySerial.StatusCode);
            Assert.Contains("is revoked", bySerial.Status.Detail);
            Assert.Equal(StatusCode.Unauthenticated, byFingerprint.StatusCode);
            Assert.Equal(StatusCode.NotFound, after.StatusCode);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Running_jobs_per_identity_are_capped()
    {
        using var certificate = GrpcClients.Mint("busy-" + Guid.NewGuid().ToString("N")[..8]);
        var running = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            running.Add(await RunAsync(certificate, "sleep", "600"));
        }

        var refused = await RefusalAsync(certificate, c => c.RunAsync(new RunRequest { Command = "true" }).ResponseAsync);
        var others = await RunAsync(GrpcClients.Client1, "true");
        await CallAsync(certificate, c => c.KillAsync(new KillRequest { JobId = running[0] }).ResponseAsync);
        string again = await RunAsync(certificate, "sleep", "600");

        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Contains("already runs 3 jobs", refused.Status.Detail);
        Assert.NotEmpty(others);
        Assert.NotEmpty(again);
    }

    [Fact(Timeout = 120_000)]
    public async Task Followers_per_identity_are_capped()
    {
        using var certificate = GrpcClients.Mint("follower-" + Guid.NewGuid().ToString("N")[..8]);
        string id = await RunAsync(certificate, "sh", "-c", "echo started; exec sleep 600");
        var (client, channel) = GrpcClients.Create(_server.Endpoint, certificate);
        using (channel)
        {
            // A follower that got the job's first line is open on the server.
            using var first = client.Logs(new LogsRequest { JobId = id });
            using var second = client.Logs(new LogsRequest { JobId = id });
            Assert.True(await first.ResponseStream.MoveNext());
            Assert.True(await second.ResponseStream.MoveNext());
            using var third = client.Logs(new LogsRequest { JobId = id });
            var refused = await Assert.ThrowsAsync<RpcException>(async () => await third.ResponseStream.MoveNext());

            Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
            Assert.Contains("already follows 2 jobs", refused.Status.Detail);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Attaches_count_against_the_followers_cap()
    {
        using var certificate = GrpcClients.Mint("attacher-" + Guid.NewGuid().ToString("N")[..8]);
        string id = await RunAsync(certificate, "sh", "-c", "echo started; exec sleep 600");
        var (client, channel) = GrpcClients.Create(_server.Endpoint, certificate);
        using (channel)
        {
            using var follow = client.Logs(new LogsRequest { JobId = id });
            Assert.True(await follow.ResponseStream.MoveNext());
            await using var attach = await AttachCall.StartAsync(client, id, stdin: false);
            var refused = await Assert.ThrowsAsync<RpcException>(async () =>
            {
                await using var third = await AttachCall.StartAsync(client, id, stdin: false);
            });

            Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
            Assert.Contains("already follows or attaches to 2 jobs", refused.Status.Detail);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Calls_per_identity_are_rate_limited_and_other_identities_are_not()
    {
        using var certificate = GrpcClients.Mint("chatty-" + Guid.NewGuid().ToString("N")[..8]);
        var (client, channel) = GrpcClients.Create(_server.Endpoint, certificate);
        var codes = new List<StatusCode>();
        using (channel)
        {
            for (int i = 0; i < 60; i++)
            {
                codes.Add((await Assert.ThrowsAsync<RpcException>(async () => await client.PsAsync(new PsRequest { JobId = UnknownId }))).StatusCode);
            }
        }

        Assert.Contains(StatusCode.ResourceExhausted, codes);
        Assert.Equal(StatusCode.NotFound, codes[0]);
        Assert.Equal(StatusCode.NotFound, (await RefusalAsync(GrpcClients.Client2, c => c.PsAsync(new PsRequest { JobId = UnknownId }).ResponseAsync)).StatusCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_run_whose_command_arguments_and_environment_are_too_large_is_refused()
    {
        var request = new RunRequest { Command = "true" };
        request.Args.Add(new string('x', 5000));

        var refused = await RefusalAsync(GrpcClients.Client2, c => c.RunAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("the most is 4096", refused.Status.Detail);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_command_cannot_forge_an_audit_line_or_reach_an_operators_terminal()
    {
        string id = await RunAsync(GrpcClients.Client1, "true", "x\naudit call=Run identity=admin job=forged outcome=OK\u001b]0;owned\u0007");

        string log = _server.Log;
        Assert.Matches(System.Text.RegularExpressions.Regex.Escape($"audit call=Run identity=client1 job={id} command=true x\\naudit call=Run identity=admin job=forged outcome=OK\\x1b]0;owned\\x07 user=jobs-") + "[0-9]+ outcome=OK", log);
        Assert.DoesNotContain(log.Split('\n'), line => line.TrimStart().StartsWith("audit call=Run identity=admin job=forged", StringComparison.Ordinal));
        Assert.DoesNotContain('\u001b', log);
    }

    [Fact(Timeout = 120_000)]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task The_server_refuses_to_start_with_a_key_file_others_can_read()
    {
        string key = Path.Combine(Path.GetTempPath(), $"jobs-key-{Guid.NewGuid():N}.key");
        string clusterKey = Path.Combine(Path.GetTempPath(), $"jobs-silo-key-{Guid.NewGuid():N}.key");
        File.Copy(Path.Combine(Repo.Certs, "server.key"), key);
        File.Copy(Path.Combine(Repo.Certs, "silo.key"), clusterKey);
        string[] strict = [$"--Gateway:Key={key}", "--Gateway:AllowReadableKey=false", $"--Orleans:Tls:Key={clusterKey}", "--Orleans:Tls:AllowReadableKey=false"];
        const UnixFileMode readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        const UnixFileMode owner = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            File.SetUnixFileMode(key, readable);
            File.SetUnixFileMode(clusterKey, owner);
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerProcess.StartCombinedAsync(strict));

            File.SetUnixFileMode(key, owner);
            File.SetUnixFileMode(clusterKey, readable);
            var clusterRefused = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerProcess.StartCombinedAsync(strict));

            File.SetUnixFileMode(clusterKey, owner);
            await using var started = await ServerProcess.StartCombinedAsync(strict);

            Assert.Contains($"the key file '{key}' can be read by other users (mode 0644)", refused.Message);
            Assert.Contains($"the key file '{clusterKey}' can be read by other users (mode 0644); run 'chmod 600 {clusterKey}', or set Orleans:Tls:AllowReadableKey=true", clusterRefused.Message);
            Assert.DoesNotContain("can be read by other users", started.Log);
        }
        finally
        {
            File.Delete(key);
            File.Delete(clusterKey);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task The_cli_refuses_an_expired_server_certificate_and_the_server_one_not_meant_for_servers()
    {
        string folder = Directory.CreateTempSubdirectory("jobs-server-certs-").FullName;
        try
        {
            using var serverCa = X509Certificate2.CreateFromPemFile(Path.Combine(Repo.Certs, "server_ca.pem"), Path.Combine(Repo.Certs, "server_ca.key"));
            var now = DateTimeOffset.UtcNow;
            using var expired = Jobs.CertGen.DevCertificates.CreateLeaf(
                serverCa, "localhost", Jobs.CertGen.LeafKind.Server, now.AddDays(-10), now.AddDays(-1), ["localhost"], [System.Net.IPAddress.Loopback]);
            using var clientOnly = Jobs.CertGen.DevCertificates.CreateLeaf(
                serverCa, "localhost", Jobs.CertGen.LeafKind.Client, now.AddDays(-1), now.AddDays(1), ["localhost"], [System.Net.IPAddress.Loopback]);
            Jobs.CertGen.DevCertificates.WritePem(expired, Path.Combine(folder, "expired.pem"), Path.Combine(folder, "expired.key"));
            Jobs.CertGen.DevCertificates.WritePem(clientOnly, Path.Combine(folder, "client-only.pem"), Path.Combine(folder, "client-only.key"));

            await using var server = await ServerProcess.StartCombinedAsync(
                $"--Gateway:Certificate={Path.Combine(folder, "expired.pem")}", $"--Gateway:Key={Path.Combine(folder, "expired.key")}");
            var cli = await Cli.RunAsync(server.Endpoint, "ps", UnknownId);
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerProcess.StartCombinedAsync(
                $"--Gateway:Certificate={Path.Combine(folder, "client-only.pem")}", $"--Gateway:Key={Path.Combine(folder, "client-only.key")}"));

            Assert.True(cli.ExitCode == 3, cli.ToString());
            Assert.Contains("the server certificate is not trusted by 'certs/server_ca.pem': certificate has expired", cli.Stderr);
            Assert.Contains("is not meant for TLS servers (no serverAuth extended key usage)", refused.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task The_cli_refuses_a_server_certificate_from_another_CA_even_one_the_system_store_trusts()
    {
        string folder = Directory.CreateTempSubdirectory("jobs-other-ca-").FullName;
        try
        {
            var now = DateTimeOffset.UtcNow;
            using var otherCa = Jobs.CertGen.DevCertificates.CreateCa("Some Other Server CA", now.AddDays(-1), now.AddYears(1));
            using var impostor = Jobs.CertGen.DevCertificates.CreateLeaf(
                otherCa, "localhost", Jobs.CertGen.LeafKind.Server, now.AddDays(-1), now.AddDays(30), ["localhost"], [System.Net.IPAddress.Loopback]);
            string otherCaFile = Path.Combine(folder, "other_ca.pem");
            await File.WriteAllTextAsync(otherCaFile, otherCa.ExportCertificatePem() + "\n");
            Jobs.CertGen.DevCertificates.WritePem(impostor, Path.Combine(folder, "impostor.pem"), Path.Combine(folder, "impostor.key"));

            // .NET's system trust on Linux is OpenSSL's default verify paths: for the CLI, the system
            // store then holds the other CA and nothing else, so a system-trust check would accept.
            var systemTrustsOtherCa = new Dictionary<string, string>
            {
                ["SSL_CERT_FILE"] = otherCaFile,
                ["SSL_CERT_DIR"] = Directory.CreateDirectory(Path.Combine(folder, "no-more-roots")).FullName,
            };

            // The key is written with mode 0600; the server is not told to tolerate anything else.
            await using var impostorServer = await ServerProcess.StartCombinedAsync(
                $"--Gateway:Certificate={Path.Combine(folder, "impostor.pem")}",
                $"--Gateway:Key={Path.Combine(folder, "impostor.key")}",
                "--Gateway:AllowReadableKey=false");

            var refused = await Cli.RunWithEnvironmentAsync(impostorServer.Endpoint, systemTrustsOtherCa, "ps", UnknownId);
            var trustingOtherCa = await Cli.RunWithEnvironmentAsync(impostorServer.Endpoint, systemTrustsOtherCa, "--server-ca", otherCaFile, "ps", UnknownId);
            var genuine = await Cli.RunWithEnvironmentAsync(_server.Endpoint, systemTrustsOtherCa, "ps", UnknownId);

            Assert.True(refused.ExitCode == 3, refused.ToString());
            Assert.Empty(refused.Stdout);
            Assert.Contains("the server certificate is not trusted by 'certs/server_ca.pem'", refused.Stderr);
            Assert.Single(refused.Stderr.TrimEnd('\n').Split('\n'));
            // The impostor is a working server: only the CA the CLI was told to trust tells them apart.
            Assert.True(trustingOtherCa.ExitCode == 4, trustingOtherCa.ToString());
            Assert.True(genuine.ExitCode == 4, genuine.ToString());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private async Task<string> RunAsync(X509Certificate2 owner, string command, params string[] args)
    {
        var request = new RunRequest { Command = command };
        request.Args.AddRange(args);
        string id = (await CallAsync(owner, c => c.RunAsync(request).ResponseAsync)).JobId;
        _jobs.Add(id);
        return id;
    }

    private async Task<T> CallAsync<T>(X509Certificate2 certificate, Func<Protos.Jobs.JobsClient, Task<T>> call)
    {
        var (client, channel) = GrpcClients.Create(_server.Endpoint, certificate);
        using (channel)
        {
            return await call(client);
        }
    }

    private async Task<RpcException> RefusalAsync<T>(X509Certificate2 certificate, Func<Protos.Jobs.JobsClient, Task<T>> call) =>
        await Assert.ThrowsAsync<RpcException>(() => CallAsync(certificate, call));

    private static void AssertRefusedByTls(RpcException error)
    {
        Assert.Contains(error.StatusCode, new[] { StatusCode.Unavailable, StatusCode.Internal });
        Assert.Contains("HTTP/2", error.Status.Detail + error.Status.DebugException);
    }
}
