using System.Diagnostics;
using System.Diagnostics.Metrics;
using Jobs.Grains;

namespace Jobs.Gateway.Services;

/// <summary>The gateway's metrics, in the same <c>Jobs</c> meter as the silo's.</summary>
public static class GatewayMetrics
{
    private static readonly Meter Meter = new(JobMetrics.MeterName);

    private static readonly UpDownCounter<long> Followers = Meter.CreateUpDownCounter<long>("jobs.followers.active", "{call}", "Logs calls open now.");

    // Seconds, from a millisecond up; a Logs call lasts as long as its job.
    private static readonly Histogram<double> RpcDuration = Meter.CreateHistogram(
        "jobs.rpc.duration",
        "s",
        "Duration of gRPC calls, by method and status.",
        tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600] });

    /// <summary>Counts an open follower until disposed.</summary>
    public static IDisposable Follower()
    {
        Followers.Add(1);
        return new Decrement();
    }

    public static void Call(string method, Grpc.Core.StatusCode status, long startTimestamp) =>
        RpcDuration.Record(
            Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds,
            new KeyValuePair<string, object?>("method", method),
            new KeyValuePair<string, object?>("status", status.ToString()));

    private sealed class Decrement : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                Followers.Add(-1);
            }
        }
    }
}
