using System.Diagnostics;
using Grpc.Core;
using Jobs.Protos;
using Jobs.TestSupport;

namespace Jobs.EndToEnd.Tests;

/// <summary>A server asked to stop (SIGTERM) while calls that last are open.</summary>
public sealed class StoppingServerTests
{
    [Fact(Timeout = 120_000)]
    public async Task A_stopping_server_ends_open_follows_and_waits_at_once_with_unavailable_and_exits()
    {
        await using var server = await ServerProcess.StartCombinedAsync();
        var (client, channel) = GrpcClients.Create(server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            var run = new RunRequest { Command = TestChildProgram.Path };
            run.Args.Add(["drip", "100000", "0.05"]);
            string id = (await client.RunAsync(run, deadline: DateTime.UtcNow.AddSeconds(30))).JobId;
            int pid = (await client.PsAsync(new PsRequest { JobId = id })).Status.Pid;
            var follows = new List<AsyncServerStreamingCall<LogsResponse>>();
            for (int i = 0; i < 3; i++)
            {
                var logs = client.Logs(new LogsRequest { JobId = id });
                Assert.True(await logs.ResponseStream.MoveNext(CancellationToken.None), "a follower got nothing");
                follows.Add(logs);
            }

            var wait = client.WaitAsync(new WaitRequest { JobId = id });
            await Task.Delay(500);
            var clock = Stopwatch.StartNew();

            Signals.Terminate(server.Pid);
            var ends = follows.Select(async f =>
            {
                var error = await Assert.ThrowsAsync<RpcException>(async () =>
                {
                    while (await f.ResponseStream.MoveNext(CancellationToken.None))
                    {
                    }
                });
                return (Error: error, clock.Elapsed);
            }).Append(Task.Run(async () => (Error: await Assert.ThrowsAsync<RpcException>(async () => await wait), clock.Elapsed)));
            var ended = await Task.WhenAll(ends).WaitAsync(TimeSpan.FromSeconds(30));
            bool exited = await server.WaitForExitAsync(TimeSpan.FromSeconds(30));
            var exitedAfter = clock.Elapsed;

            Assert.All(ended, e => Assert.Equal(StatusCode.Unavailable, e.Error.StatusCode));
            Assert.All(ended, e => Assert.Contains("server stopping", e.Error.Status.Detail));
            Assert.All(ended, e => Assert.True(e.Elapsed < TimeSpan.FromSeconds(5), $"a call ended {e.Elapsed} after SIGTERM"));
            Assert.True(exited, $"the server still ran 30 s after SIGTERM:\n{server.Log}");
            Assert.True(exitedAfter < TimeSpan.FromSeconds(20), $"the server exited {exitedAfter} after SIGTERM");
            Assert.True(await Processes.WaitGoneAsync(pid, TimeSpan.FromSeconds(10)), "the job's process outlived the server");
            foreach (var follow in follows)
            {
                follow.Dispose();
            }
        }
    }
}
