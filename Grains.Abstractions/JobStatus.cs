namespace Jobs.Grains;

/// <summary>A job's state as its owner sees it.</summary>
[GenerateSerializer, Immutable, Alias("Jobs.JobStatus")]
public sealed record JobStatus(
    [property: Id(0)] string JobId,
    [property: Id(1)] JobState State,
    [property: Id(2)] string Command,
    [property: Id(3)] string[] Args,
    [property: Id(4)] int Pid,
    [property: Id(5)] DateTimeOffset StartedAt)
{
    /// <summary>Set once the job has exited by itself.</summary>
    [Id(6)]
    public int? ExitCode { get; init; }

    /// <summary>Set once the job was ended by a signal: its number.</summary>
    [Id(7)]
    public int? Signal { get; init; }

    /// <summary>The name of <see cref="Signal"/>, such as <c>SIGKILL</c>.</summary>
    [Id(8)]
    public string? SignalName { get; init; }

    /// <summary>Set once the job has ended.</summary>
    [Id(9)]
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>Bytes the job has written to stdout so far.</summary>
    [Id(10)]
    public long StdoutBytes { get; init; }

    /// <summary>Bytes the job has written to stderr so far.</summary>
    [Id(11)]
    public long StderrBytes { get; init; }

    /// <summary>Why the job ended, when the runner caused it.</summary>
    [Id(12)]
    public EndReason EndReason { get; init; }

    /// <summary>How many of the job's processes the kernel killed for going over its memory limit.</summary>
    [Id(13)]
    public int OomKills { get; init; }

    /// <summary>The limits in force: what was asked for, with the server's defaults and maximums applied.</summary>
    [Id(14)]
    public JobLimits? Limits { get; init; }

    /// <summary>True when the job runs in namespaces of its own.</summary>
    [Id(15)]
    public bool Isolated { get; init; }

    /// <summary>The identity that started the job.</summary>
    [Id(16)]
    public string Owner { get; init; } = string.Empty;

    /// <summary>The node (its <c>Orleans:NodeName</c>) that runs or ran the job.</summary>
    [Id(17)]
    public string Node { get; init; } = string.Empty;

    /// <summary>
    /// Bytes the job wrote that the server could not keep (a full disk, the node's output budget),
    /// counted in <see cref="StdoutBytes"/> and <see cref="StderrBytes"/>; the per-job cap's drops are not counted.
    /// </summary>
    [Id(18)]
    public long OutputLostBytes { get; init; }

    /// <summary>Why <see cref="OutputLostBytes"/> were lost: the reason of the latest loss.</summary>
    [Id(19)]
    public OutputDropReason OutputLostReason { get; init; }

    /// <summary>True when the job's output was removed after it ended, to make room in the node's output budget.</summary>
    [Id(20)]
    public bool OutputRemoved { get; init; }

    /// <summary>True when the job was started with its stdin open (<see cref="JobSpec.Stdin"/>, or a terminal).</summary>
    [Id(21)]
    public bool Stdin { get; init; }

    /// <summary>True when the job runs (or ran) on a pseudo-terminal.</summary>
    [Id(22)]
    public bool Terminal { get; init; }

    /// <summary>The account the job runs as: its name (a uid of an identity's own: <c>jobs-UID</c>).</summary>
    [Id(23)]
    public string User { get; init; } = string.Empty;

    /// <summary>The account's user id; null on Windows.</summary>
    [Id(24)]
    public uint? Uid { get; init; }

    /// <summary>What the job's tree uses now, or used in all once it has ended; null where its node counts nothing (no job cgroup).</summary>
    [Id(25)]
    public JobUsage? Usage { get; init; }

    /// <summary>True once the job has ended and all its output is recorded.</summary>
    public bool Ended => State != JobState.Running;
}
