namespace Jobs.Platform;

/// <summary>How the server's machine is used for jobs (configuration section <c>Jobs:Platform</c>).</summary>
public sealed class PlatformOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string Section = "Jobs:Platform";

    /// <summary>
    /// A cgroup v2 mount to create job cgroups in. When unset, <c>/sys/fs/cgroup</c> if it is cgroup
    /// v2, else the cgroup v1 hierarchies mounted there.
    /// </summary>
    public string? CgroupV2Root { get; set; }

    /// <summary>
    /// The server's own <c>oom_score_adj</c> (-1000..1000), set at start where it may lower it (root),
    /// so that the kernel's OOM killer picks a job before the server and with it every job of the
    /// node. Null: left as it is (and every job inherits it).
    /// </summary>
    public int? ServerOomScoreAdj { get; set; } = -900;

    /// <summary>
    /// Every job's <c>oom_score_adj</c> where the server runs as root, never lower than the server's:
    /// above it, so that the OOM killer takes a job first even where the kernel refuses to lower the
    /// server's (as the kubelet gives pods a higher score than itself). A job that is not root cannot lower it.
    /// </summary>
    public int JobOomScoreAdj { get; set; } = 500;

    /// <summary>
    /// The processes (and threads) all jobs of a node may have together, in the cgroup that holds
    /// every job: by default the kernel's limit less 15 % kept for the server and the system, so a
    /// fork bomb cannot take the pids the server needs to answer. 0: no limit.
    /// </summary>
    public long? JobsMaxPids { get; set; }

    /// <summary>
    /// The memory all jobs of a node may use together, such as <c>16G</c>: by default the machine's
    /// memory less <see cref="MemoryReserve"/>. Beyond it the kernel's OOM killer ends a process of
    /// a job, never the server. <c>0</c>: no limit.
    /// </summary>
    public string? JobsMaxMemory { get; set; }

    /// <summary>
    /// The memory kept from jobs for the server and the system when <see cref="JobsMaxMemory"/> is not
    /// set: a size (<c>2G</c>) or a share of the machine's memory (<c>10%</c>). By default 10 %, at least 512 MiB and at most half the machine.
    /// </summary>
    public string? MemoryReserve { get; set; }

    /// <summary>
    /// The CPU weight of all jobs of a node together against the server and the rest of the machine
    /// when every core is busy, in cgroup v2 units (1-10000; 100 is a peer's share; cgroup v1 gets
    /// 1024 shares per 100). Every job's tree counts as one part of it, however many processes it
    /// has. By default 10: jobs still get every core the machine does not use, and yield to the
    /// server (and to the machine's other services) when they do (<c>bench busy</c>: jobs' <c>ps</c>
    /// p99 beside CPU burners 137-144 ms at 100, 87-105 ms at 10).
    /// </summary>
    public int JobsCpuWeight { get; set; } = 10;

    /// <summary>
    /// The process limit of a job that asks for none and whose server sets no
    /// <c>Jobs:Limits:Default:Pids</c>, as systemd's <c>DefaultTasksMax=</c>: 15 % of the kernel's
    /// limit here. 0: none. Applies only where job cgroups (or Job Objects) can hold it.
    /// </summary>
    public int? DefaultJobPids { get; set; }

    /// <summary>The memory all jobs may use together on a machine with <paramref name="total"/> bytes: <see cref="JobsMaxMemory"/>, else the machine's less <see cref="MemoryReserve"/>; 0: no limit.</summary>
    /// <exception cref="InvalidOperationException">A value that is no size, or a reserve that leaves nothing.</exception>
    public static long JobsMemoryBudget(PlatformOptions? options, long total)
    {
        if (!string.IsNullOrWhiteSpace(options?.JobsMaxMemory))
        {
            return options.JobsMaxMemory.Trim() == "0" ? 0
                : ByteSize.TryParse(options.JobsMaxMemory, out long asked) && asked > 0 ? asked
                : throw new InvalidOperationException($"{Section}:JobsMaxMemory is '{options.JobsMaxMemory}', which is not a size (such as 16G) nor 0");
        }

        string? reserve = options?.MemoryReserve;
        long kept;
        if (string.IsNullOrWhiteSpace(reserve))
        {
            // At most half the machine, so that a small one still gives jobs room.
            kept = Math.Min(Math.Max(512L * 1024 * 1024, total / 10), total / 2);
        }
        else if (reserve.Trim().EndsWith('%') && double.TryParse(reserve.Trim().TrimEnd('%'), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double percent) && percent is >= 0 and < 100)
        {
            kept = (long)(total * percent / 100);
        }
        else if (!ByteSize.TryParse(reserve, out kept) || kept < 0)
        {
            throw new InvalidOperationException($"{Section}:MemoryReserve is '{reserve}', which is neither a size (such as 2G) nor a share (such as 10%)");
        }

        return Math.Max(0, total - kept) is var budget && budget > 0 ? budget
            : throw new InvalidOperationException($"{Section}:MemoryReserve ({reserve}) leaves jobs no memory of the machine's {ByteSize.Format(total)}");
    }
}
