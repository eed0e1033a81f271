using System.Text.RegularExpressions;
using Grpc.Core;
using Jobs.Protos;

namespace Jobs.EndToEnd.Tests;

/// <summary>Jobs on a pseudo-terminal through the Attach call, against the real server: what `jobs run -it` relies on.</summary>
[Collection(ServerCollection.Name)]
public sealed partial class AttachTerminalTests(ServerFixture fixture)
{
    private static RunRequest OnTerminal(int rows, int columns, string command, params string[] args) =>
        new() { Command = command, Args = { args }, Terminal = new TerminalSize { Rows = (uint)rows, Columns = (uint)columns } };

    [Fact(Timeout = 60_000)]
    public async Task The_job_runs_on_a_pseudo_terminal_of_the_size_asked_for()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            string id = (await client.RunAsync(OnTerminal(33, 101, "sh", "-c", "tty; stty size; echo \"$TERM\""))).JobId;
            await using var attach = await AttachCall.StartAsync(client, id);
            var end = await attach.FinishAsync();

            Assert.Matches(PtyLine(), attach.StdoutText);
            Assert.Contains("33 101\r\n", attach.StdoutText);
            Assert.Contains("xterm-256color\r\n", attach.StdoutText);
            Assert.True(attach.Attached.Status.Terminal);
            Assert.Equal((JobState.Exited, 0), (end?.State, end?.ExitCode));
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task The_job_is_a_session_leader_with_the_terminal_as_its_controlling_terminal()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            // Field 6 of /proc/PID/stat is the session, 7 the controlling terminal's device number.
            string id = (await client.RunAsync(OnTerminal(24, 80, "sh", "-c", "cut -d' ' -f6,7 /proc/$$/stat; echo $$"))).JobId;
            await using var attach = await AttachCall.StartAsync(client, id);
            await attach.FinishAsync();

            var lines = attach.StdoutText.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            var fields = lines[0].Split(' ');
            Assert.Equal(lines[1], fields[0]);
            Assert.NotEqual("0", fields[1]);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Stdout_and_stderr_are_one_stream_and_logs_replays_it()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            string id = (await client.RunAsync(OnTerminal(24, 80, "sh", "-c", "echo out; echo err >&2"))).JobId;
            await using var attach = await AttachCall.StartAsync(client, id);
            await attach.FinishAsync();
            var logs = new MemoryStream();
            using var call = client.Logs(new LogsRequest { JobId = id });
            await foreach (var item in call.ResponseStream.ReadAllAsync())
            {
                if (item.ItemCase == LogsResponse.ItemOneofCase.Chunk)
                {
                    Assert.Equal(OutputStream.Stdout, item.Chunk.Stream);
                    logs.Write(item.Chunk.Data.Span);
                }
            }

            Assert.Equal("out\r\nerr\r\n", attach.StdoutText);
            Assert.Empty(attach.Stderr);
            Assert.Equal(attach.Stdout, logs.ToArray());
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_resize_reaches_the_job()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            string id = (await client.RunAsync(OnTerminal(24, 80, "sh", "-c", "trap 'stty size; exit 0' WINCH; echo ready; while :; do sleep 0.1; done"))).JobId;
            await using var attach = await AttachCall.StartAsync(client, id);
            await attach.WaitForOutputAsync("ready");

            await attach.ResizeAsync(40, 132);
            var end = await attach.FinishAsync();

            Assert.Contains("40 132\r\n", attach.StdoutText);
            Assert.Equal(0, end?.ExitCode);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Ctrl_C_Ctrl_Z_and_Ctrl_backslash_reach_the_job_as_the_terminal_sends_them()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            string trapped = (await client.RunAsync(OnTerminal(24, 80, "sh", "-c", "trap 'echo got INT; exit 5' INT; echo ready; while :; do sleep 0.1; done"))).JobId;
            string sleeping = (await client.RunAsync(OnTerminal(24, 80, "sleep", "100"))).JobId;

            // No child to wait for: a stopped one would hold the shell's trap back.
            string stopping = (await client.RunAsync(OnTerminal(24, 80, "sh", "-c", "trap 'echo got TSTP; exit 6' TSTP; echo ready; while :; do :; done"))).JobId;
            await using var shell = await AttachCall.StartAsync(client, trapped);
            await using var sleep = await AttachCall.StartAsync(client, sleeping);
            await using var busy = await AttachCall.StartAsync(client, stopping);
            await shell.WaitForOutputAsync("ready");
            await busy.WaitForOutputAsync("ready");

            await shell.SendAsync("\u0003");
            await sleep.SendAsync("\u001c");
            await busy.SendAsync("\u001a");
            var shellEnd = await shell.FinishAsync();
            var sleepEnd = await sleep.FinishAsync();
            var busyEnd = await busy.FinishAsync();

            Assert.Contains("got INT", shell.StdoutText);
            Assert.Equal((JobState.Exited, 5), (shellEnd?.State, shellEnd?.ExitCode));
            Assert.Equal((JobState.Killed, "SIGQUIT"), (sleepEnd?.State, sleepEnd?.SignalName));
            Assert.Contains("got TSTP", busy.StdoutText);
            Assert.Equal((JobState.Exited, 6), (busyEnd?.State, busyEnd?.ExitCode));
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_shell_on_the_terminal_runs_what_is_typed_and_its_exit_code_comes_back()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            string id = (await client.RunAsync(OnTerminal(24, 80, "sh"))).JobId;
            await using var attach = await AttachCall.StartAsync(client, id);

            await attach.SendAsync("echo $((6 * 7))\r");
            await attach.WaitForOutputAsync("42\r\n");
            await attach.SendAsync("exit 3\r");
            var end = await attach.FinishAsync();

            Assert.Equal((JobState.Exited, 3), (end?.State, end?.ExitCode));
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task Detach_leaves_the_job_running_and_a_new_attach_takes_it_over()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            string id = (await client.RunAsync(OnTerminal(24, 80, "cat"))).JobId;
            try
            {
                var first = await AttachCall.StartAsync(client, id);
                await first.SendAsync("one\r");
                await first.WaitForOutputAsync("one\r\none\r\n");
                await first.DetachAsync();
                await first.FinishAsync();
                await first.DisposeAsync();
                var afterDetach = (await client.PsAsync(new PsRequest { JobId = id })).Status;

                await using var again = await AttachCall.StartAsync(client, id, replay: false);
                await again.SendAsync("two\r");
                await again.WaitForOutputAsync("two\r\ntwo\r\n");
                await using var replayed = await AttachCall.StartAsync(client, id, stdin: false, replay: true);
                await replayed.WaitForOutputAsync("two\r\ntwo\r\n");

                Assert.Equal(AttachResponse.ItemOneofCase.Detached, first.Messages[^1].ItemCase);
                Assert.Equal(JobState.Running, afterDetach.State);
                Assert.DoesNotContain("one", again.StdoutText);
                Assert.StartsWith("one\r\none\r\n", replayed.StdoutText);
                Assert.Contains($"audit call=Detach identity=client1 job={id} command=- user=- outcome=OK detail=detach", fixture.Server.Log);
            }
            finally
            {
                await client.KillAsync(new KillRequest { JobId = id });
            }
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task The_latest_attach_takes_the_input_and_the_earlier_one_is_told_and_keeps_watching()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            string id = (await client.RunAsync(OnTerminal(24, 80, "cat"))).JobId;
            try
            {
                await using var first = await AttachCall.StartAsync(client, id);
                await using var second = await AttachCall.StartAsync(client, id);

                await first.SendAsync("lost\r");
                await first.WaitForAsync(a => a.Messages.Any(m => m.ItemCase == AttachResponse.ItemOneofCase.InputMoved), "InputMoved");
                await second.SendAsync("kept\r");
                await first.WaitForOutputAsync("kept\r\nkept\r\n");

                Assert.True(first.Attached.Input);
                Assert.True(second.Attached.Input);
                Assert.DoesNotContain("lost", first.StdoutText);
                Assert.DoesNotContain("lost", second.StdoutText);
            }
            finally
            {
                await client.KillAsync(new KillRequest { JobId = id });
            }
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task An_attach_whose_call_is_cancelled_has_detached_and_the_job_runs_on()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            string id = (await client.RunAsync(OnTerminal(24, 80, "cat"))).JobId;
            try
            {
                using var cancel = new CancellationTokenSource();
                var gone = await AttachCall.StartAsync(client, id, cancellationToken: cancel.Token);
                await gone.SendAsync("first\r");
                await gone.WaitForOutputAsync("first\r\nfirst\r\n");
                await cancel.CancelAsync();
                await gone.DisposeAsync();
                string detached = $"audit call=Detach identity=client1 job={id} command=- user=- outcome=OK detail=connection closed";
                for (int i = 0; i < 50 && !fixture.Server.Log.Contains(detached, StringComparison.Ordinal); i++)
                {
                    await Task.Delay(100);
                }

                await using var next = await AttachCall.StartAsync(client, id, replay: false);
                await next.SendAsync("second\r");
                await next.WaitForOutputAsync("second\r\nsecond\r\n");

                Assert.Contains(detached, fixture.Server.Log);
                Assert.Equal(JobState.Running, (await client.PsAsync(new PsRequest { JobId = id })).Status.State);
            }
            finally
            {
                await client.KillAsync(new KillRequest { JobId = id });
            }
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Bad_terminal_sizes_are_invalid_arguments()
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            var run = await Assert.ThrowsAsync<RpcException>(() => client.RunAsync(OnTerminal(0, 80, "true")).ResponseAsync);
            string id = (await client.RunAsync(OnTerminal(24, 80, "cat"))).JobId;
            try
            {
                await using var attach = await AttachCall.StartAsync(client, id);
                await attach.ResizeAsync(24, 70_000);
                var resize = await Assert.ThrowsAsync<RpcException>(() => attach.Completion);

                Assert.Equal(StatusCode.InvalidArgument, run.StatusCode);
                Assert.Contains("terminal size", run.Status.Detail);
                Assert.Equal(StatusCode.InvalidArgument, resize.StatusCode);
                Assert.Equal(JobState.Running, (await client.PsAsync(new PsRequest { JobId = id })).Status.State);
            }
            finally
            {
                await client.KillAsync(new KillRequest { JobId = id });
            }
        }
    }

    [GeneratedRegex(@"^/dev/pts/\d+\r\n")]
    private static partial Regex PtyLine();
}
