using System.Diagnostics;
using Grpc.Core;
using Jobs.Protos;

namespace Jobs.Bench.Floods;

/// <summary>A well-behaved client on a connection of its own: Run of <c>/bin/true</c>, then Ps of that job, one pair after the other; each pair timed.</summary>
internal sealed class Probe(ScenarioContext ctx, JobsClient client)
{
    // Between pairs, so the probe measures the server rather than adding a flood of its own.
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(20);

    public Tally Calls { get; } = new();

    /// <summary>Times the pairs until <paramref name="until"/>; the sorted latencies of the pairs that succeeded.</summary>
    public async Task<IReadOnlyList<TimeSpan>> MeasureAsync(CancellationToken until, CancellationToken cancellationToken)
    {
        var latencies = new List<TimeSpan>();
        var job = ctx.Job("/bin/true");
        while (!until.IsCancellationRequested)
        {
            var clock = Stopwatch.StartNew();
            try
            {
                job.RequestId = Guid.NewGuid().ToString();
                string jobId = (await client.RunAsync(job, deadline: DateTime.UtcNow.AddSeconds(60), cancellationToken: cancellationToken)).JobId;
                await client.PsAsync(new PsRequest { JobId = jobId }, deadline: DateTime.UtcNow.AddSeconds(60), cancellationToken: cancellationToken);
                latencies.Add(clock.Elapsed);
                Calls.Add("Run+Ps OK");
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                Calls.Add($"Run+Ps {e.StatusCode}");
            }

            await Task.Delay(Pause, cancellationToken);
        }

        latencies.Sort();
        return latencies;
    }
}
