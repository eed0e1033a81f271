namespace Jobs.Platform;

/// <summary>Starts child processes, each in a process tree of its own that can be killed whole.</summary>
public interface IChildLauncher
{
    /// <summary>How job trees are tracked here (process groups, cgroups), for the start-up log.</summary>
    string TreeTracking { get; }

    /// <summary>How many files the server may hold open and what that means in running jobs, for the start-up log.</summary>
    string OpenFiles => "not limited per process";

    /// <summary>How the OOM killer is kept off the server (its <c>oom_score_adj</c> and the jobs'), for the start-up log.</summary>
    string OomProtection => "none (the server's and the jobs' oom_score_adj are left as they are)";

    /// <summary>
    /// The process limit of a job that asks for none (<see cref="PlatformOptions.DefaultJobPids"/>,
    /// by default 15 % of the kernel's limit); null where no limit can be held or none is wanted.
    /// </summary>
    int? DefaultMaxProcesses => null;

    /// <summary>What all jobs of this node may use together and use now; null where nothing is counted.</summary>
    JobsBudget? Budget() => null;

    /// <summary>Starts the program; completes once it is running (its program executed).</summary>
    /// <exception cref="ChildStartException">The program does not exist or cannot be executed.</exception>
    /// <exception cref="ArgumentException">The spec cannot be passed to the OS (for example a NUL character).</exception>
    /// <exception cref="LimitUnavailableException">A limit in the spec cannot be enforced here.</exception>
    Task<IChild> StartAsync(ChildSpec spec, CancellationToken cancellationToken);

    /// <summary>Kills every child this launcher started that is still running, and waits for them.</summary>
    Task KillAllAsync(CancellationToken cancellationToken);
}
