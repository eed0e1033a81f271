using Grpc.Core;
using Jobs.Protos;

namespace Jobs.Bench.Floods;

/// <summary>
/// A client that opens many Logs streams of one job writing a lot and never reads them: the server must hold
/// each at its flow-control window, not buffer the job's output for it. The streams are cancelled at the end.
/// </summary>
internal sealed class StalledStreams(ScenarioContext ctx, JobsClient client, int streams, long bytes)
{
    public Tally Calls { get; } = new();

    /// <summary>Streams still open (not ended by the server) when the floods ended.</summary>
    public int OpenAtEnd { get; private set; }

    /// <summary>The job whose output they do not read, once started.</summary>
    public string? JobId { get; private set; }

    public async Task RunAsync(CancellationToken until, CancellationToken cancellationToken)
    {
        try
        {
            JobId = (await client.RunAsync(ctx.Flood(bytes, ctx.Options.WriteSize), cancellationToken: cancellationToken)).JobId;
            Calls.Add("Run OK");
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            Calls.Add($"Run {e.StatusCode}");
            return;
        }

        var calls = new List<AsyncServerStreamingCall<LogsResponse>>(streams);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            for (int i = 0; i < streams && !until.IsCancellationRequested; i++)
            {
                // The call starts at once; nothing ever reads its response stream.
                calls.Add(client.Logs(new LogsRequest { JobId = JobId }, cancellationToken: stop.Token));
            }

            await Task.Delay(Timeout.InfiniteTimeSpan, until).ContinueWith(_ => { }, TaskScheduler.Default);
            foreach (var call in calls)
            {
                try
                {
                    // Ended already: by the server (an error or a limit), since this client read nothing.
                    Calls.Add($"Logs ended by the server: {call.GetStatus().StatusCode}");
                }
                catch (InvalidOperationException)
                {
                    OpenAtEnd++;
                    Calls.Add("Logs open, unread");
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            foreach (var call in calls)
            {
                call.Dispose();
            }
        }
    }
}
