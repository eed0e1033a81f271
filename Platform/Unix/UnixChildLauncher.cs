using System.Collections.Concurrent;

namespace Jobs.Platform.Unix;

/// <summary>
/// Starts children with <c>posix_spawn</c>: glibc spawns with <c>CLONE_VFORK</c>, so a program that
/// cannot be executed is reported by this call itself, and the child gets its own process group,
/// default signal dispositions and an empty signal mask before its first instruction.
/// </summary>
// Starting, the table of running children and the watchdog here; the spawn itself in
// UnixChildLauncher.Spawn.cs; the shim's report in UnixChildLauncher.Shim.cs.
internal sealed partial class UnixChildLauncher : IChildLauncher, IDisposable
{
    private readonly Reaper _reaper = new();
    // By the child, not its pid: a pid is reused once reaped, and a child leaves this table only
    // after its tree is gone and its output read, so by pid an ended child could remove a newer one.
    private readonly ConcurrentDictionary<UnixChild, byte> _running = new();
    private readonly string _shim = Path.Combine(AppContext.BaseDirectory, "jobs-shim");

    /// <summary>The helper that sets a child up between fork and exec (cgroup, namespaces, terminal, account).</summary>
    internal string Shim => _shim;
    private readonly Cgroups? _cgroups;
    private readonly int _watchdogLifeline = -1;

    // Every job's oom_score_adj, given by the shim, where the server lowered its own; else null.
    private readonly int? _jobOomScore;

    private readonly ulong _openFileLimit = RaiseOpenFileLimit();

    public UnixChildLauncher(PlatformOptions? options = null)
    {
        // Last line of defence: a server that exits without stopping its jobs still takes them along.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => SignalAll(LibC.SIGKILL);

        if (!File.Exists(_shim))
        {
            TreeTracking = $"process groups only ({_shim} is missing)";
            return;
        }

        // Only where the shim can give every job its own score: a job must not inherit the server's.
        if (options?.ServerOomScoreAdj is { } server)
        {
            (_jobOomScore, OomProtection) = ProtectFromOom(server, options.JobOomScoreAdj);
        }

        _cgroups = Cgroups.TryCreate(options?.CgroupV2Root, out string reason, options);
        _defaultJobPids = options?.DefaultJobPids is { } pids ? (pids == 0 ? null : pids) : _cgroups?.DefaultJobPids;
        TreeTracking = _cgroups is null ? $"process groups only ({reason})" : $"process groups and {reason}";
        if (_cgroups is not null)
        {
            _watchdogLifeline = StartWatchdog(_cgroups.ServerFolders);
        }
    }

    /// <summary>How job trees are tracked here, for the server's start-up log.</summary>
    public string TreeTracking { get; }

    private readonly int? _defaultJobPids;

    /// <inheritdoc/>
    public int? DefaultMaxProcesses => _defaultJobPids;

    /// <inheritdoc/>
    public JobsBudget? Budget() => _cgroups?.ReadBudget();

    /// <inheritdoc/>
    public string OomProtection { get; } = "none (the server's and the jobs' oom_score_adj are left as they are)";

    // Lowers the server's own score (which needs root) and gives every job one no lower than the
    // server's: where the kernel refuses the server's (some refuse any negative score), the jobs'
    // higher one still points the OOM killer at them first. The jobs' score, and what the log says.
    private static (int? Job, string Description) ProtectFromOom(int server, int job)
    {
        if (server is < -1000 or > 1000 || job is < -1000 or > 1000)
        {
            throw new InvalidOperationException(
                $"{PlatformOptions.Section}:ServerOomScoreAdj ({server}) and JobOomScoreAdj ({job}) must be -1000..1000");
        }

        if (LibC.geteuid() != 0)
        {
            return (null, $"none (the server runs as uid {LibC.geteuid()}, not root: it cannot lower its oom_score_adj nor set the jobs')");
        }

        const string Own = "/proc/self/oom_score_adj";
        string? refused = null;
        try
        {
            File.WriteAllText(Own, server.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            refused = e.Message;
        }

        int actual = int.Parse(File.ReadAllText(Own).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        int jobs = Math.Max(job, actual);
        return (jobs, refused is null
            ? $"the server's oom_score_adj {actual}, every job's {jobs}"
            : $"the server's oom_score_adj {actual} (the kernel refused {server}: {refused}), every job's {jobs}");
    }

    /// <summary>How long the shim may take to report that it reached the program's exec.</summary>
    internal TimeSpan ShimReportTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>For tests only: a fault the shim acts out before exec (<c>-F</c> in jobs-shim.c).</summary>
    internal string? ShimFault { get; init; }

    /// <summary>The job cgroups this launcher makes, when it can.</summary>
    internal Cgroups? Cgroups => _cgroups;

    /// <summary>The children started whose exit path has not finished.</summary>
    internal int Running => _running.Count;

    /// <summary>For tests only: run in each child's exit path after the reap, to make that path fail.</summary>
    internal Func<Task>? ExitFault { get; init; }

    public async Task<IChild> StartAsync(ChildSpec spec, CancellationToken cancellationToken)
    {
        // Creating the cgroup and posix_spawn block for as long as the kernel takes (the parent of a
        // vfork waits for the child's exec, cgroup folders wait for the cgroup lock): done on a pool
        // thread, so that the caller's thread (a grain's scheduler) goes on with other work meanwhile.
        var launched = await Task.Run(() => Launch(spec), CancellationToken.None).ConfigureAwait(false);
        if (launched.ErrorFd >= 0)
        {
            // Awaited, not blocked on: joining a cgroup can take milliseconds.
            var report = await ReadShimReportAsync(launched.ErrorFd, ShimReportTimeout).ConfigureAwait(false);
            if (report.Outcome != ShimOutcome.Started)
            {
                // The shim ends by itself after a report; one that hangs or died is ended here. Its
                // group is its own (and the isolated job's), so nothing else is signalled.
                LibC.kill(-launched.Pid, LibC.SIGKILL);
                LibC.kill(launched.Pid, LibC.SIGKILL);
                int reaped = LibC.WaitPid(launched.Pid, 0, out int status, out _);
                launched.CloseServerEnds();
                if (launched.Cgroup is not null)
                {
                    await launched.Cgroup.KillAndRemoveAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                }

                throw report.Outcome switch
                {
                    ShimOutcome.Failed => report.Step switch
                    {
                        ShimStep.Isolate => new LimitUnavailableException(
                            $"the server cannot isolate jobs here ({LibC.ErrorText(report.Error)}): new PID, mount and network namespaces need CAP_SYS_ADMIN"),
                        ShimStep.Cgroup => new LimitUnavailableException($"the job could not join its cgroup: {LibC.ErrorText(report.Error)}"),
                        ShimStep.Oom => new ChildStartException(spec.Command, report.Error, $"the job's oom_score_adj could not be set: {LibC.ErrorText(report.Error)}"),
                        ShimStep.Sysfs => new LimitUnavailableException($"the server cannot mount a /sys of the isolated job's own: {LibC.ErrorText(report.Error)}"),
                        ShimStep.Terminal => new ChildStartException(spec.Command, report.Error, $"the job's terminal could not become its controlling terminal: {LibC.ErrorText(report.Error)}"),
                        ShimStep.Account => new ChildStartException(
                            spec.Command, report.Error, $"the job could not become the account {spec.Account?.Name} ({spec.Account?.Uid}:{spec.Account?.Gid}): {LibC.ErrorText(report.Error)}"),
                        _ => StartError(spec.Command, report.Error),
                    },
                    ShimOutcome.TimedOut => new ChildStartException(
                        spec.Command, LibC.ETIMEDOUT, $"the job's launcher (jobs-shim) did not reach the program within {ShimReportTimeout.TotalSeconds:0.#} s and was killed"),
                    _ => new ChildStartException(
                        spec.Command, 0, $"the job's launcher (jobs-shim) ended before it started the program ({Ended(reaped == launched.Pid, status)})"),
                };
            }
        }

        Task exited;
        try
        {
            exited = _reaper.WhenExited(launched.Pid);
        }
        catch (Exception e)
        {
            LibC.kill(-launched.Pid, LibC.SIGKILL);
            LibC.WaitPid(launched.Pid, 0, out _, out _);
            launched.CloseServerEnds();
            if (launched.Cgroup is not null)
            {
                await launched.Cgroup.KillAndRemoveAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }

            // The pidfd is the last descriptor a start takes: most often it is the one refused.
            throw e is System.ComponentModel.Win32Exception { NativeErrorCode: > 0 } refused ? StartError(spec.Command, refused.NativeErrorCode) : e;
        }

        // Entered before its exit path can run, so that an instant exit cannot leave it in the table.
        return new UnixChild(
            launched.Pid, launched.StdoutFd, launched.StderrFd, launched.Terminal, Input(launched), launched.Cgroup, exited,
            onStarted: c => _running[c] = 0,
            onEnded: c => _running.TryRemove(c, out _),
            ExitFault);
    }

    public async Task KillAllAsync(CancellationToken cancellationToken)
    {
        var children = _running.Keys.ToArray();
        await Task.WhenAll(children.Select(c => c.KillAsync(cancellationToken))).ConfigureAwait(false);
    }

    public void Dispose()
    {
        SignalAll(LibC.SIGKILL);
        if (_watchdogLifeline >= 0)
        {
            // The watchdog sweeps this server's cgroups when its end of the lifeline closes.
            LibC.close(_watchdogLifeline);
        }

        _reaper.Dispose();
    }

    // The watchdog reads a pipe only this process writes to: when this process ends, however it
    // ends, the kernel closes the pipe and the watchdog kills whatever is left in the job cgroups.
    private unsafe int StartWatchdog(IReadOnlyList<string> cgroups)
    {
        int* lifeline = stackalloc int[2];
        if (LibC.pipe2(lifeline, LibC.O_CLOEXEC) != 0)
        {
            return -1;
        }

        int error = Spawn(_shim, [_shim, "watch", .. cgroups], [], null, lifeline[0], -1, -1, -1, newSession: false, out int pid);
        LibC.close(lifeline[0]);
        if (error != 0)
        {
            LibC.close(lifeline[1]);
            return -1;
        }

        // Reaped when it ends, so it never lingers as a zombie.
        _ = _reaper.WhenExited(pid).ContinueWith(_ => LibC.WaitPid(pid, 0, out int _, out int _), TaskScheduler.Default);
        return lifeline[1];
    }

    // The server's ends of the child's descriptors (-1: none).
    private readonly record struct Launched(int Pid, int StdoutFd, int StderrFd, JobCgroup? Cgroup, int ErrorFd, int StdinFd, PseudoTerminal? Terminal)
    {
        public void CloseServerEnds()
        {
            foreach (int fd in (ReadOnlySpan<int>)[StdoutFd, StderrFd, StdinFd])
            {
                if (fd >= 0)
                {
                    LibC.close(fd);
                }
            }

            Terminal?.Dispose();
        }
    }

    private static IUnixInput? Input(Launched launched) => launched switch
    {
        { Terminal: { } terminal } => new TerminalInput(terminal),
        { StdinFd: >= 0 } => new SocketInput(launched.StdinFd),
        _ => null,
    };

    private void SignalAll(int signal)
    {
        foreach (var child in _running.Keys)
        {
            child.SignalGroup(signal);
        }
    }

    private ChildStartException StartError(string command, int error) => error switch
    {
        LibC.EMFILE => new(command, error, $"{LibC.ErrorText(error)}: this server may hold {_openFileLimit} open files and each running job holds 3 (4 with stdin), so the node has no room for another job now") { NodeFull = true },
        LibC.ENFILE => new(command, error, $"{LibC.ErrorText(error)}: the system's open-file table is full, so the node has no room for another job now") { NodeFull = true },
        _ => new(command, error, LibC.ErrorText(error)),
    };

    // The soft limit raised to the hard one (the .NET runtime raises it too, where it may): jobs
    // need descriptors, and the default soft limit (1,024 on most systems) would refuse the 300th.
    private static unsafe ulong RaiseOpenFileLimit()
    {
        LibC.RLimit limit;
        if (LibC.getrlimit(LibC.RLIMIT_NOFILE, &limit) != 0)
        {
            return 0;
        }

        if (limit.Current < limit.Max)
        {
            var raised = limit with { Current = limit.Max };
            if (LibC.setrlimit(LibC.RLIMIT_NOFILE, &raised) == 0)
            {
                limit = raised;
            }
        }

        return limit.Current;
    }

    /// <summary>
    /// The server's open-file limit and what it means in jobs, for the start-up log: a running job
    /// holds its stdout and stderr sockets and its pidfd, and its stdin socket when it has one.
    /// </summary>
    public string OpenFiles => _openFileLimit == 0
        ? "unknown (getrlimit failed)"
        : $"up to {_openFileLimit} (the hard limit); a running job holds 3 (4 with stdin), so about {_openFileLimit / 3} jobs at once, fewer the more the server itself has open";
}
