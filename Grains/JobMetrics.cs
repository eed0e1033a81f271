using System.Diagnostics.Metrics;

namespace Jobs.Grains;

/// <summary>The silo's job metrics (meter <c>Jobs</c>), exported by the gateway when metrics are configured.</summary>
public static class JobMetrics
{
    /// <summary>The meter's name, for exporters.</summary>
    public const string MeterName = "Jobs";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Started = Meter.CreateCounter<long>("jobs.started", "{job}", "Jobs started.");

    private static readonly Counter<long> Finished = Meter.CreateCounter<long>("jobs.finished", "{job}", "Jobs ended, by outcome: exited, killed, killed_by_request, timed_out, out_of_memory.");

    private static readonly UpDownCounter<long> Running = Meter.CreateUpDownCounter<long>("jobs.running", "{job}", "Jobs running now.");

    private static readonly Counter<long> OutputBytes = Meter.CreateCounter<long>("jobs.output", "By", "Output bytes recorded, by stream.");

    internal static void JobStarted()
    {
        Started.Add(1);
        Running.Add(1);
    }

    internal static void JobFinished(JobStatus status)
    {
        Running.Add(-1);
        string outcome = status.EndReason switch
        {
            EndReason.KilledByRequest => "killed_by_request",
            EndReason.TimedOut => "timed_out",
            EndReason.OutOfMemory => "out_of_memory",
            _ => status.State == JobState.Exited ? "exited" : "killed",
        };
        Finished.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
    }

    internal static void Output(Platform.ChildStream stream, int bytes) =>
        OutputBytes.Add(bytes, new KeyValuePair<string, object?>("stream", stream == Platform.ChildStream.Stdout ? "stdout" : "stderr"));
}
