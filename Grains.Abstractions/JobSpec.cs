namespace Jobs.Grains;

/// <summary>What a job runs, and how.</summary>
/// <param name="Command">A path, or a program name looked up in the job's <c>PATH</c> (the server's unless configuration or the job sets another).</param>
/// <param name="Args">Arguments, passed to the program as they are (no shell).</param>
[GenerateSerializer, Immutable, Alias("Jobs.JobSpec")]
public sealed record JobSpec(
    [property: Id(0)] string Command,
    [property: Id(1)] string[] Args)
{
    /// <summary>Working directory; the server's when null.</summary>
    [Id(2)]
    public string? WorkingDirectory { get; init; }

    /// <summary>Variables set on top of what the server gives every job (a small base and its <c>Jobs:Environment</c>); the server's own environment does not reach a job.</summary>
    [Id(3)]
    public Dictionary<string, string>? Environment { get; init; }

    /// <summary>How long the job may run before it is stopped (SIGTERM, grace, SIGKILL); no limit when null.</summary>
    [Id(4)]
    public TimeSpan? Timeout { get; init; }

    /// <summary>Resource limits asked for; the server's defaults and maximums apply on top.</summary>
    [Id(5)]
    public JobLimits? Limits { get; init; }

    /// <summary>Run the job in PID, mount and network namespaces of its own (PID 1, private /proc, a read-only /sys of its own, loopback only).</summary>
    [Id(6)]
    public bool Isolate { get; init; }

    /// <summary>The identity that starts the job (the client certificate's common name); it alone, and admins, may see and kill the job.</summary>
    [Id(7)]
    public string Owner { get; init; } = string.Empty;

    /// <summary>
    /// The silo chosen to run the job (<see cref="NodeInfo.Address"/>); the grain refuses to start
    /// anywhere else. Null: wherever the grain was placed (tests, tools inside the cluster).
    /// </summary>
    [Id(8)]
    public string? Silo { get; init; }

    /// <summary>
    /// Chosen by the client so that it may retry a start: a second start with the same id from the
    /// same <see cref="Owner"/>, while the first job is kept, answers with that job and starts nothing
    /// (<see cref="DuplicateRunException"/>). Null: every start is a new job.
    /// </summary>
    [Id(9)]
    public string? RequestId { get; init; }

    /// <summary>Keep the job's stdin open for attaches (<see cref="IJobGrain.WriteInputAsync"/>) instead of <c>/dev/null</c>.</summary>
    [Id(10)]
    public bool Stdin { get; init; }

    /// <summary>
    /// Run the job on a pseudo-terminal of this size (implies <see cref="Stdin"/>): it is the job's
    /// stdin, stdout and stderr, and its output is one stream (stdout).
    /// </summary>
    [Id(11)]
    public JobTerminal? Terminal { get; init; }

    /// <summary>
    /// The account to run as (<c>run --user</c>): a user name or <c>UID:GID</c>, one of those the
    /// configuration maps <see cref="Owner"/> to (any account for an admin). Null: the owner's
    /// default (its first mapped account, else a uid of its own).
    /// </summary>
    [Id(12)]
    public string? User { get; init; }

    /// <summary>The owner is an admin (<c>Gateway:Admins</c>), who may run as any account.</summary>
    [Id(13)]
    public bool OwnerIsAdmin { get; init; }
}
