using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Jobs.Protos;

namespace Jobs.EndToEnd.Tests;

/// <summary>A job's stdin through the Attach call, against the real server, as a third-party gRPC client sends it.</summary>
[Collection(ServerCollection.Name)]
public sealed class AttachStdinTests(ServerFixture fixture, Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact(Timeout = 60_000)]
    public async Task Stdin_reaches_the_job_byte_exact_and_end_of_input_is_its_end_of_file()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            var input = RandomNumberGenerator.GetBytes(1024 * 1024);
            string id = (await client.RunAsync(new RunRequest { Command = "cat", Stdin = true })).JobId;
            await using var attach = await AttachCall.StartAsync(client, id);

            for (int offset = 0; offset < input.Length; offset += 40_000)
            {
                await attach.SendAsync(input.AsMemory(offset, Math.Min(40_000, input.Length - offset)));
            }

            await attach.EndInputAsync();
            var end = await attach.FinishAsync();

            Assert.True(attach.Attached.Input);
            Assert.True(attach.Attached.Status.Stdin);
            Assert.Equal((JobState.Exited, 0), (end?.State, end?.ExitCode));
            Assert.Equal(input.Length, attach.Stdout.Length);
            Assert.True(input.AsSpan().SequenceEqual(attach.Stdout), "the output differs from the input");
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Sort_reads_its_lines_to_end_of_file_and_prints_them_sorted()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            string id = (await client.RunAsync(new RunRequest { Command = "sort", Stdin = true })).JobId;
            await using var attach = await AttachCall.StartAsync(client, id);

            await attach.SendAsync("b\na\n");
            await attach.EndInputAsync();
            var end = await attach.FinishAsync();

            Assert.Equal("a\nb\n", attach.StdoutText);
            Assert.Equal((JobState.Exited, 0), (end?.State, end?.ExitCode));
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task A_job_that_does_not_read_its_stdin_holds_the_client_back_and_loses_nothing()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            // Reads nothing for 8 s, then all of it: the hash says whether every byte came, in order.
            const int Total = 64 * 1024 * 1024;
            string id = (await client.RunAsync(new RunRequest { Command = "sh", Args = { "-c", "sleep 8; exec sha256sum" }, Stdin = true })).JobId;
            await using var attach = await AttachCall.StartAsync(client, id);
            long rssBefore = Processes.Memory(fixture.Server.Pid)!.Value.RssKiB;

            var chunk = new byte[64 * 1024];
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long sent = 0;
            long sentBeforeRead = -1;
            long rssWhileBlocked = 0;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (sent < Total)
            {
                RandomNumberGenerator.Fill(chunk);
                hash.AppendData(chunk);
                var sending = attach.SendAsync(chunk);
                if (sentBeforeRead < 0 && await Task.WhenAny(sending, Task.Delay(2000)) != sending)
                {
                    // The client is held back: the job has not read, and the server took only so much.
                    sentBeforeRead = sent;
                    rssWhileBlocked = Processes.Memory(fixture.Server.Pid)!.Value.RssKiB;
                }

                await sending;
                sent += chunk.Length;
            }

            await attach.EndInputAsync();
            var end = await attach.FinishAsync();
            output.WriteLine($"taken before the job read: {sentBeforeRead} bytes; server RSS {rssBefore} KiB before, {rssWhileBlocked} KiB while held back; all {sent} bytes in {clock.Elapsed}");

            Assert.True(sentBeforeRead >= 0, $"the client was never held back; it sent all {sent} bytes in {clock.Elapsed}");
            Assert.True(sentBeforeRead < 8 * 1024 * 1024, $"{sentBeforeRead} bytes were taken from the client before the job read any");
            Assert.True(rssWhileBlocked - rssBefore < 48 * 1024, $"server RSS grew by {(rssWhileBlocked - rssBefore) / 1024} MiB while the job did not read");
            Assert.Equal((JobState.Exited, 0), (end?.State, end?.ExitCode));
            Assert.Equal($"{Convert.ToHexStringLower(hash.GetHashAndReset())}  -\n", attach.StdoutText);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Stdout_and_stderr_stay_apart_without_a_terminal()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            string id = (await client.RunAsync(new RunRequest { Command = "sh", Args = { "-c", "read line; echo \"out $line\"; echo \"err $line\" >&2" }, Stdin = true })).JobId;
            await using var attach = await AttachCall.StartAsync(client, id);

            await attach.SendAsync("x\n");
            var end = await attach.FinishAsync();

            Assert.Equal("out x\n", attach.StdoutText);
            Assert.Equal("err x\n", Encoding.UTF8.GetString(attach.Stderr));
            Assert.Equal(0, end?.ExitCode);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Attach_for_stdin_to_a_job_started_without_it_is_refused_but_watching_it_works()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            string id = (await client.RunAsync(new RunRequest { Command = "sh", Args = { "-c", "echo hello; sleep 1" } })).JobId;

            var refused = await Assert.ThrowsAsync<RpcException>(async () =>
            {
                await using var attach = await AttachCall.StartAsync(client, id, stdin: true);
            });
            await using var watch = await AttachCall.StartAsync(client, id, stdin: false);
            var end = await watch.FinishAsync();

            Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
            Assert.Contains("without stdin", refused.Status.Detail);
            Assert.False(watch.Attached.Input);
            Assert.Equal("hello\n", watch.StdoutText);
            Assert.Equal(0, end?.ExitCode);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Another_identity_cannot_attach_and_an_admin_can()
    {
        var (owner, ownerChannel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        var (other, otherChannel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client2);
        var (admin, adminChannel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Admin);
        using (ownerChannel)
        using (otherChannel)
        using (adminChannel)
        {
            string id = (await owner.RunAsync(new RunRequest { Command = "cat", Stdin = true })).JobId;
            try
            {
                var refused = await Assert.ThrowsAsync<RpcException>(async () =>
                {
                    await using var attach = await AttachCall.StartAsync(other, id);
                });
                await using var byAdmin = await AttachCall.StartAsync(admin, id);
                await byAdmin.SendAsync("from the admin\n");
                await byAdmin.WaitForOutputAsync("from the admin\n");

                Assert.Equal(StatusCode.NotFound, refused.StatusCode);
                Assert.Equal($"job {id} not found", refused.Status.Detail);
                Assert.Contains($"audit call=Attach identity=client2 job={id} command=- user=- outcome=NotFound", fixture.Server.Log);
                Assert.Contains($"audit call=Attach identity=admin job={id} command=- user=- outcome=OK detail=stdin", fixture.Server.Log);
            }
            finally
            {
                await owner.KillAsync(new KillRequest { JobId = id });
            }
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task An_attach_must_start_with_AttachStart_and_send_it_once()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            string id = (await client.RunAsync(new RunRequest { Command = "cat", Stdin = true })).JobId;
            try
            {
                using var first = client.Attach();
                await StreamingCalls.WriteFirstAsync(first, new AttachRequest { Input = Google.Protobuf.ByteString.CopyFromUtf8("x") });
                var noStart = await Assert.ThrowsAsync<RpcException>(() => first.ResponseStream.MoveNext(CancellationToken.None));

                await using var second = await AttachCall.StartAsync(client, id);
                await second.SendRawAsync(new AttachRequest { Start = new AttachStart { JobId = id } });
                var twice = await Assert.ThrowsAsync<RpcException>(() => second.Completion);

                Assert.Equal(StatusCode.InvalidArgument, noStart.StatusCode);
                Assert.Equal(StatusCode.InvalidArgument, twice.StatusCode);
                Assert.Contains("AttachStart", twice.Status.Detail);
                Assert.Equal(JobState.Running, (await client.PsAsync(new PsRequest { JobId = id })).Status.State);
            }
            finally
            {
                await client.KillAsync(new KillRequest { JobId = id });
            }
        }
    }
}
