using Jobs.Protos;

namespace Jobs.Bench;

/// <summary>A job status in a few words.</summary>
internal static class StatusText
{
    public static string Of(JobStatus? status) => status is null ? "no status" : status.State switch
    {
        JobState.Running => $"RUNNING pid {status.Pid}",
        JobState.Exited => $"EXITED code {status.ExitCode}",
        JobState.Killed => $"KILLED signal {status.Signal} {status.SignalName}".TrimEnd(),
        _ => $"{status.State}",
    };

    /// <summary>The job's own lifetime, from its start to its end as the server recorded them.</summary>
    public static TimeSpan? Duration(JobStatus? status) =>
        status?.StartedAt is { } start && status.EndedAt is { } end ? end.ToDateTime() - start.ToDateTime() : null;
}
