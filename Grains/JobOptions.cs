using Jobs.Platform;

namespace Jobs.Grains;

/// <summary>Server-side settings of jobs (configuration section <c>Jobs</c>).</summary>
public sealed class JobOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string Section = "Jobs";

    /// <summary>How long a finished job, with its output, stays queryable.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// A finished job nobody has called for this long leaves memory: its activation goes, its status
    /// stays in the job store and its output in the spool, and the next call brings both back.
    /// </summary>
    public TimeSpan FinishedIdle { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a kill waits after SIGTERM before SIGKILL, unless the caller says otherwise.</summary>
    public TimeSpan DefaultKillGrace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest grace a caller may ask for.</summary>
    public TimeSpan MaxKillGrace { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a drained node waits for its running jobs to end before it kills them (<c>jobs drain</c>).</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How many finished jobs are kept at most; the oldest are forgotten first.</summary>
    public int MaxFinishedJobs { get; set; } = 10_000;

    /// <summary>
    /// Where job output is spooled. Each server process keeps a folder of its own in it, a folder
    /// per job inside, so servers may share one: at start a server deletes only the folders of
    /// servers that ended (output is not durable). On Unix it must be the server user's alone
    /// (created 0700; refused when it is a symbolic link, another user's, or writable by others).
    /// By default <see cref="Jobs.Platform.Storage.DataDirectory.DefaultPath"/> (<c>$TMPDIR/jobs-output-UID</c>).
    /// </summary>
    public string DataDirectory { get; set; } = Jobs.Platform.Storage.DataDirectory.DefaultPath;

    /// <summary>Output kept per job, in bytes; the oldest output beyond it is dropped.</summary>
    public long MaxOutputBytesPerJob { get; set; } = 1L << 30;

    /// <summary>
    /// Output kept for all jobs of this node together, in bytes (frame headers included). When a write
    /// would go beyond it, the oldest finished jobs' output is removed first (their status stays,
    /// marked as output removed); a running job's output that still does not fit is not kept and is
    /// counted as lost (reason budget). Unset: half of the data directory's free space when the server
    /// starts. 0: no budget (only the disk's size bounds output).
    /// </summary>
    public long? MaxOutputBytesTotal { get; set; }

    /// <summary>The newest output of a job kept in memory as well, for followers that keep up.</summary>
    public int HotWindowBytes { get; set; } = 256 * 1024;

    /// <summary>Limits every job gets unless it asks otherwise (<c>Jobs:Limits:Default:*</c>), and the most a job may ask for (<c>Jobs:Limits:Max:*</c>).</summary>
    public LimitsOptions Limits { get; set; } = new();

    /// <summary>Who jobs run as: accounts per identity, and the uids of identities' own (<c>Jobs:Accounts:*</c>).</summary>
    public AccountOptions Accounts { get; set; } = new();

    /// <summary>How many jobs one identity may run at once; a start beyond it is refused (RESOURCE_EXHAUSTED).</summary>
    public int MaxRunningJobsPerOwner { get; set; } = 1000;

    /// <summary>
    /// Variables every job gets (<c>Jobs:Environment:NAME=VALUE</c>), on top of the base environment
    /// (<see cref="ChildEnvironment.Base"/>) and of <see cref="PassEnvironment"/>; a job's own variables replace them.
    /// </summary>
    public Dictionary<string, string> Environment { get; set; } = [];

    /// <summary>
    /// Names of the server's own variables that every job gets too, where the server has them set
    /// (<c>Jobs:PassEnvironment:0=NAME</c>); nothing else of the server's environment reaches a job.
    /// </summary>
    public string[] PassEnvironment { get; set; } = [];

    /// <summary>Throws <see cref="InvalidOperationException"/> when <see cref="Environment"/> or <see cref="PassEnvironment"/> holds a name that cannot be a variable's, or the one the server sets itself.</summary>
    public void ValidateEnvironment()
    {
        foreach (var (name, value) in Environment)
        {
            Check($"{Section}:Environment", name, value);
        }

        foreach (string name in PassEnvironment)
        {
            Check($"{Section}:PassEnvironment", name, string.Empty);
        }

        static void Check(string setting, string name, string value)
        {
            if (ChildEnvironment.CheckVariable(name, value) is { } problem)
            {
                throw new InvalidOperationException($"{setting}: {problem}");
            }

            if (ChildEnvironment.NameComparer.Equals(name, JobEnvironment.JobIdVariable))
            {
                throw new InvalidOperationException($"{setting}: {JobEnvironment.JobIdVariable} is set by the server (the job's id)");
            }
        }
    }
}
