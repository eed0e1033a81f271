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
}
