using System.Globalization;
using Jobs.Protos;

namespace Jobs.Client;

/// <summary>
/// The one-line status shown by <c>ps</c> and <c>kill</c>, e.g. <c>Exited code=0 node=n1 user=jobs-61190</c> or
/// <c>Lost node=n2 user=build (node left the cluster)</c>.
/// </summary>
internal static class StatusFormatter
{
    public static string Format(JobStatus status) =>
        State(status)
        + (status.Node.Length > 0 ? " node=" + status.Node : string.Empty)
        + (status.User.Length > 0 ? " user=" + status.User : string.Empty)
        + (status.State == JobState.Lost ? LostSuffix(status) : string.Empty)
        + status.EndReason switch
        {
            EndReason.KilledByRequest => " (killed by request)",
            EndReason.TimedOut => " (timed out)",
            EndReason.OutOfMemory => " (out of memory)",
            _ => status.OomKills > 0 ? string.Create(CultureInfo.InvariantCulture, $" ({status.OomKills} of its processes killed for memory)") : string.Empty,
        }
        + (OutputLoss(status) is { } loss ? "; " + loss : string.Empty);

    /// <summary>
    /// Output the server could not keep, e.g. <c>output lost: 73400320 bytes, disk full</c>; null when
    /// none was lost (the per-job cap's drops are not counted).
    /// </summary>
    public static string? OutputLoss(JobStatus status) => status switch
    {
        { OutputRemoved: true } => string.Create(CultureInfo.InvariantCulture, $"output removed: {status.OutputLostBytes} bytes, over the server's output budget"),
        { OutputLostBytes: > 0 } => string.Create(CultureInfo.InvariantCulture, $"output lost: {status.OutputLostBytes} bytes, {Reason(status.OutputLostReason)}"),
        _ => null,
    };

    /// <summary>The stderr line for an <c>OutputDropped</c> item of a follow: which bytes of each stream are missing, and why.</summary>
    public static string DroppedNotice(OutputDropped dropped)
    {
        string Range(string stream, long from, long to) => to > from
            ? string.Create(CultureInfo.InvariantCulture, $"{stream} bytes {from}-{to - 1} ({to - from} bytes)")
            : string.Empty;

        string ranges = string.Join(", ", new[] { Range("stdout", dropped.StdoutFrom, dropped.StdoutOffset), Range("stderr", dropped.StderrFrom, dropped.StderrOffset) }.Where(r => r.Length > 0));
        return dropped.Reason == DropReason.Cap || dropped.Reason == DropReason.Unspecified
            ? string.Create(CultureInfo.InvariantCulture, $"jobs: older output was dropped by the server's per-job cap; continuing from stdout offset {dropped.StdoutOffset}, stderr offset {dropped.StderrOffset}")
            : $"jobs: output missing ({Reason(dropped.Reason)}): {(ranges.Length > 0 ? ranges : "none of the streams shown")}; continuing from stdout offset {dropped.StdoutOffset.ToString(CultureInfo.InvariantCulture)}, stderr offset {dropped.StderrOffset.ToString(CultureInfo.InvariantCulture)}";
    }

    private static string Reason(DropReason reason) => reason switch
    {
        DropReason.DiskFull => "disk full",
        DropReason.Budget => "over the server's output budget",
        DropReason.Cap => "the per-job cap",
        _ => "not kept",
    };

    /// <summary>The stderr line of <c>logs</c>, <c>wait</c> and <c>run --follow/--wait</c> for a job whose node left the cluster.</summary>
    public static string LostNotice(string jobId, JobStatus status) =>
        $"jobs: job {jobId}: its node {(status.Node.Length > 0 ? status.Node + " " : string.Empty)}left the cluster; the job and its output are gone";

    /// <summary>Prints a status: its one line, or its JSON with <c>--output json</c>.</summary>
    public static Task WriteAsync(CliConsole console, System.CommandLine.ParseResult parseResult, JobStatus status, CancellationToken cancellationToken) =>
        parseResult.GetValue(Commands.GlobalOptions.Output) == Commands.OutputFormat.Json
            ? console.WriteJsonAsync(status, cancellationToken)
            : console.WriteLineAsync(Format(status), cancellationToken);

    /// <summary>The limits a job runs with, e.g. <c>limits: cpu=0.5 memory=256 MiB isolated</c>; null when it has none.</summary>
    public static string? FormatLimits(JobStatus status)
    {
        var parts = new List<string>();
        if (status.Limits is { } limits)
        {
            if (limits.Pids > 0)
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"pids={limits.Pids}"));
            }

            if (limits.Cpu > 0)
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"cpu={limits.Cpu:0.###}"));
            }

            if (limits.MemoryBytes > 0)
            {
                parts.Add($"memory={Jobs.Platform.ByteSize.Format(limits.MemoryBytes)}");
            }

            parts.AddRange(limits.IoRead.Select(r => $"io-read={Rate(r)}"));
            parts.AddRange(limits.IoWrite.Select(r => $"io-write={Rate(r)}"));
        }

        if (status.Isolated)
        {
            parts.Add("isolated");
        }

        return parts.Count == 0 ? null : "limits: " + string.Join(' ', parts);
    }

    /// <summary>
    /// What the job uses, e.g. <c>usage: cpu=2.01s memory=64.2 MiB memory-peak=65 MiB tasks=1 io-read=0 B io-write=4 KiB</c>
    /// (once ended: its totals, without memory and tasks); null when its node counts nothing.
    /// </summary>
    public static string? FormatUsage(JobStatus status)
    {
        if (status.Usage is not { } usage)
        {
            return null;
        }

        var parts = new List<string>();
        if (usage.CpuTime is { } cpu)
        {
            parts.Add("cpu=" + CpuTime(cpu.ToTimeSpan()));
        }

        if (usage.HasMemoryBytes)
        {
            parts.Add("memory=" + Jobs.Platform.ByteSize.Format(usage.MemoryBytes));
        }

        if (usage.HasMemoryPeakBytes)
        {
            parts.Add("memory-peak=" + Jobs.Platform.ByteSize.Format(usage.MemoryPeakBytes));
        }

        if (usage.HasTasks)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"tasks={usage.Tasks}"));
        }

        if (usage.HasIoReadBytes)
        {
            parts.Add("io-read=" + Jobs.Platform.ByteSize.Format(usage.IoReadBytes));
        }

        if (usage.HasIoWriteBytes)
        {
            parts.Add("io-write=" + Jobs.Platform.ByteSize.Format(usage.IoWriteBytes));
        }

        return parts.Count == 0 ? null : "usage: " + string.Join(' ', parts);
    }

    /// <summary>CPU time for people: <c>0.25s</c>, <c>12.3s</c>, <c>5m02s</c>.</summary>
    public static string CpuTime(TimeSpan time) => time.TotalSeconds switch
    {
        < 10 => string.Create(CultureInfo.InvariantCulture, $"{time.TotalSeconds:0.00}s"),
        < 60 => string.Create(CultureInfo.InvariantCulture, $"{time.TotalSeconds:0.0}s"),
        _ => Durations.Format(time),
    };

    private static string State(JobStatus status) => status.State switch
    {
        JobState.Running => string.Create(CultureInfo.InvariantCulture, $"Running pid={status.Pid}"),
        JobState.Exited => string.Create(CultureInfo.InvariantCulture, $"Exited code={status.ExitCode}"),
        // Windows terminates processes without a signal: plain "Killed" there.
        JobState.Killed when status.Signal == 0 && status.SignalName.Length == 0 => "Killed",
        JobState.Killed => $"Killed signal={Signal(status)}",
        JobState.Lost => "Lost",
        // A newer server may add states; show the raw value rather than fail.
        _ => string.Create(CultureInfo.InvariantCulture, $"Unknown state={(int)status.State}"),
    };

    // A lost job that had ended before its node left has ended_at set, with its exit code or signal
    // (proto3 cannot tell a code of 0 from unset: ended_at tells the job had ended).
    private static string LostSuffix(JobStatus status) => " (node left the cluster)" + status switch
    {
        { Signal: not 0 } or { SignalName.Length: > 0 } => "; it had been killed by " + (status.SignalName.Length > 0 ? status.SignalName : "signal " + Signal(status)),
        { ExitCode: not 0 } or { EndedAt: not null } => string.Create(CultureInfo.InvariantCulture, $"; it had exited with code {status.ExitCode}"),
        _ => string.Empty,
    };

    private static string Signal(JobStatus status) =>
        status.SignalName.Length > 0 ? status.SignalName : status.Signal.ToString(CultureInfo.InvariantCulture);

    private static string Rate(DeviceRate rate) =>
        (rate.Device.Length > 0 ? rate.Device + "=" : string.Empty) + Jobs.Platform.ByteSize.Format(rate.BytesPerSecond) + "/s";
}
