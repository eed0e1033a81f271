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

    private static Func<Platform.JobsBudget?>? s_budget;
    private static (DateTime At, Platform.JobsBudget? Budget) s_read;

    /// <summary>
    /// Reports what all jobs of this node use together, and their budget, read from the cgroup that
    /// holds them at each scrape (one read per second at most): per-node totals, not one series per job.
    /// </summary>
    public static void ObserveNode(Platform.IChildLauncher launcher)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        if (Interlocked.Exchange(ref s_budget, launcher.Budget) is not null)
        {
            // Instruments exist already (several silos in one process, as in tests): the latest launcher answers.
            return;
        }

        Meter.CreateObservableCounter("jobs.node.cpu_time", () => Measure(b => b.Used.CpuTime?.TotalSeconds), "s", "CPU time all jobs of the node have used, ended jobs included.");
        Meter.CreateObservableGauge("jobs.node.memory.usage", () => Measure(b => b.Used.MemoryBytes), "By", "Memory all jobs of the node hold now.");
        Meter.CreateObservableGauge("jobs.node.memory.limit", () => Measure(b => b.MaxMemoryBytes), "By", "The memory all jobs of the node may hold together.");
        Meter.CreateObservableGauge("jobs.node.tasks", () => Measure(b => b.Used.Tasks), "{task}", "Processes and threads of all jobs of the node now.");
        Meter.CreateObservableGauge("jobs.node.tasks.limit", () => Measure(b => b.MaxProcesses), "{task}", "The processes and threads all jobs of the node may have at once.");
        Meter.CreateObservableCounter("jobs.node.io", () => Measure(b => b.Used.IoReadBytes, "read").Concat(Measure(b => b.Used.IoWriteBytes, "write")), "By", "Bytes all jobs of the node have read from and written to block devices.");
    }

    private static IEnumerable<Measurement<T>> Measure<T>(Func<Platform.JobsBudget, T?> figure, string? direction = null)
        where T : struct
    {
        var (at, budget) = s_read;
        if (DateTime.UtcNow - at > TimeSpan.FromSeconds(1))
        {
            try
            {
                budget = s_budget?.Invoke();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                budget = null;
            }

            s_read = (DateTime.UtcNow, budget);
        }

        return budget is not null && figure(budget) is { } value
            ? [direction is null ? new Measurement<T>(value) : new Measurement<T>(value, new KeyValuePair<string, object?>("direction", direction))]
            : [];
    }

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
