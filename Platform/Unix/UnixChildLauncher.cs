using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;

namespace Jobs.Platform.Unix;

/// <summary>
/// Starts children with <c>posix_spawn</c>: glibc spawns with <c>CLONE_VFORK</c>, so a program that
/// cannot be executed is reported by this call itself, and the child gets its own process group,
/// default signal dispositions and an empty signal mask before its first instruction.
/// </summary>
internal sealed class UnixChildLauncher : IChildLauncher, IDisposable
{
    private readonly Reaper _reaper = new();
    // By the child, not its pid: a pid is reused once reaped, and a child leaves this table only
    // after its tree is gone and its output read, so by pid an ended child could remove a newer one.
    private readonly ConcurrentDictionary<UnixChild, byte> _running = new();
    private readonly string _shim = Path.Combine(AppContext.BaseDirectory, "jobs-shim");
    private readonly Cgroups? _cgroups;
    private readonly int _watchdogLifeline = -1;

    public UnixChildLauncher(PlatformOptions? options = null)
    {
        // Last line of defence: a server that exits without stopping its jobs still takes them along.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => SignalAll(LibC.SIGKILL);

        if (!File.Exists(_shim))
        {
            TreeTracking = $"process groups only ({_shim} is missing)";
            return;
        }

        _cgroups = Cgroups.TryCreate(options?.CgroupV2Root, out string reason);
        TreeTracking = _cgroups is null ? $"process groups only ({reason})" : $"process groups and {reason}";
        if (_cgroups is not null)
        {
            _watchdogLifeline = StartWatchdog(_cgroups.ServerFolders);
        }
    }

    /// <summary>How job trees are tracked here, for the server's start-up log.</summary>
    public string TreeTracking { get; }

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
                LibC.close(launched.StdoutFd);
                LibC.close(launched.StderrFd);
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
                        ShimStep.Sysfs => new LimitUnavailableException($"the server cannot mount a /sys of the isolated job's own: {LibC.ErrorText(report.Error)}"),
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
        catch
        {
            LibC.kill(-launched.Pid, LibC.SIGKILL);
            LibC.WaitPid(launched.Pid, 0, out _, out _);
            LibC.close(launched.StdoutFd);
            LibC.close(launched.StderrFd);
            throw;
        }

        // Entered before its exit path can run, so that an instant exit cannot leave it in the table.
        return new UnixChild(
            launched.Pid, launched.StdoutFd, launched.StderrFd, launched.Cgroup, exited,
            onStarted: c => _running[c] = 0,
            onEnded: c => _running.TryRemove(c, out _),
            ExitFault);
    }

    private unsafe Launched Launch(ChildSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (string.IsNullOrEmpty(spec.Command))
        {
            throw new ArgumentException("the command is empty", nameof(spec));
        }

        string[] argv = [spec.Command, .. spec.Args];
        // The base, not the server's environment: that holds the server's secrets and runtime settings.
        var environment = new Dictionary<string, string>(ChildEnvironment.Base(), StringComparer.Ordinal);
        foreach (var (name, value) in spec.Environment ?? new Dictionary<string, string>())
        {
            if (ChildEnvironment.CheckVariable(name, value) is { } problem)
            {
                throw new ArgumentException(problem, nameof(spec));
            }

            environment[name] = value;
        }

        string[] envp = [.. environment.Select(e => $"{e.Key}={e.Value}")];
        foreach (string s in argv)
        {
            if (s.Contains('\0'))
            {
                throw new ArgumentException("arguments cannot contain NUL characters", nameof(spec));
            }
        }

        if (spec.WorkingDirectory is { } cwd && !Directory.Exists(cwd))
        {
            throw new ChildStartException(spec.Command, 2, $"working directory '{cwd}' does not exist");
        }

        // The job writes into Unix stream sockets rather than pipes (as systemd does for the journal):
        // the runtime reads sockets through epoll, while its anonymous-pipe reads block a pool
        // thread each, which thousands of quiet jobs would exhaust.
        int* stdout = stackalloc int[2];
        int* stderr = stackalloc int[2];
        if (LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0, stdout) != 0)
        {
            throw StartError(spec.Command, Marshal.GetLastPInvokeError());
        }

        if (LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0, stderr) != 0)
        {
            int error = Marshal.GetLastPInvokeError();
            LibC.close(stdout[0]);
            LibC.close(stdout[1]);
            throw StartError(spec.Command, error);
        }

        // Output flows one way: the job cannot read back from its stdout, and we never write to it.
        LibC.shutdown(stdout[1], LibC.SHUT_RD);
        LibC.shutdown(stderr[1], LibC.SHUT_RD);

        spec.Limits?.Validate();
        if (spec.Limits is { None: false } && _cgroups is null)
        {
            LibC.close(stdout[0]);
            LibC.close(stdout[1]);
            LibC.close(stderr[0]);
            LibC.close(stderr[1]);
            throw new LimitUnavailableException($"resource limits need job cgroups, which this server cannot use: {TreeTracking}");
        }

        JobCgroup? cgroup;
        try
        {
            if (spec.Isolate && !File.Exists(_shim))
            {
                throw new LimitUnavailableException($"isolation needs {_shim}, which is missing");
            }

            cgroup = _cgroups?.Create(spec.Limits);
        }
        catch
        {
            LibC.close(stdout[0]);
            LibC.close(stdout[1]);
            LibC.close(stderr[0]);
            LibC.close(stderr[1]);
            throw;
        }

        bool shim = cgroup is not null || spec.Isolate;
        string? program;
        if (shim)
        {
            // The shim looks the program up itself (execvp, in the job's environment).
            string[] joins = [.. (cgroup?.Folders ?? []).SelectMany(f => new[] { "-j", Path.Combine(f, "cgroup.procs") })];
            string[] fault = ShimFault is null ? [] : ["-F", ShimFault];
            argv = [_shim, "exec", .. joins, .. spec.Isolate ? ["-i"] : Array.Empty<string>(), .. fault, "--", .. argv];
            program = _shim;
        }
        else
        {
            program = FindProgram(spec.Command, environment["PATH"], spec.WorkingDirectory);
        }

        int pid;
        int spawnError;
        int* errors = stackalloc int[2];
        errors[0] = errors[1] = -1;
        if (shim && LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0, errors) != 0)
        {
            spawnError = Marshal.GetLastPInvokeError();
            pid = 0;
        }
        else if (program is null)
        {
            spawnError = LibC.ENOENT;
            pid = 0;
        }
        else
        {
            spawnError = Spawn(program, argv, envp, spec.WorkingDirectory, -1, stdout[1], stderr[1], errors[1], out pid);
        }

        LibC.close(stdout[1]);
        LibC.close(stderr[1]);
        if (errors[1] >= 0)
        {
            LibC.close(errors[1]);
        }

        if (spawnError != 0)
        {
            if (errors[0] >= 0)
            {
                LibC.close(errors[0]);
            }

            LibC.close(stdout[0]);
            LibC.close(stderr[0]);
            cgroup?.KillAndRemoveAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();

            throw StartError(spec.Command, spawnError);
        }

        return new Launched(pid, stdout[0], stderr[0], cgroup, errors[0]);
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

        int error = Spawn(_shim, [_shim, "watch", .. cgroups], [], null, lifeline[0], -1, -1, -1, out int pid);
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

    // The steps the shim reports on (STEP_* in Platform/native/jobs-shim.c).
    private enum ShimStep
    {
        Exec = 0,
        Cgroup = 1,
        Isolate = 2,
        Sysfs = 3,
    }

    // What the shim's report socket said (see jobs-shim.c): the byte written just before exec, then
    // end of file (a successful exec closes it), or a failed step and errno.
    private enum ShimOutcome
    {
        Started,
        Failed,
        DiedBeforeExec,
        TimedOut,
    }

    private const byte ReachedExec = (byte)'x';

    private readonly record struct ShimReport(ShimOutcome Outcome, ShimStep Step = ShimStep.Exec, int Error = 0);

    private static async Task<ShimReport> ReadShimReportAsync(int fd, TimeSpan timeout)
    {
        using var socket = new System.Net.Sockets.Socket(new System.Net.Sockets.SafeSocketHandle(fd, ownsHandle: true));
        using var deadline = new CancellationTokenSource(timeout);
        var buffer = new byte[1 + 2 * sizeof(int)];
        int got = 0;
        try
        {
            while (got < buffer.Length)
            {
                int read = await socket.ReceiveAsync(buffer.AsMemory(got), System.Net.Sockets.SocketFlags.None, deadline.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                got += read;
            }
        }
        catch (OperationCanceledException)
        {
            return new ShimReport(ShimOutcome.TimedOut);
        }
        catch (System.Net.Sockets.SocketException)
        {
            // Treated as what was read by then says.
        }

        // A report comes alone (a step before the exec failed) or after the byte (the exec failed).
        int start = got > 0 && buffer[0] == ReachedExec ? 1 : 0;
        if (got - start == 2 * sizeof(int))
        {
            return new ShimReport(ShimOutcome.Failed, (ShimStep)BitConverter.ToInt32(buffer, start), BitConverter.ToInt32(buffer, start + sizeof(int)));
        }

        return got == 1 && start == 1 ? new ShimReport(ShimOutcome.Started) : new ShimReport(ShimOutcome.DiedBeforeExec);
    }

    private static string Ended(bool reaped, int status)
    {
        if (!reaped)
        {
            return "its end was not seen";
        }

        int signal = status & 0x7f;
        return signal == 0 ? $"exit code {(status >> 8) & 0xff}" : $"killed by {SignalNames.NameOf(signal)}";
    }

    private readonly record struct Launched(int Pid, int StdoutFd, int StderrFd, JobCgroup? Cgroup, int ErrorFd);

    private void SignalAll(int signal)
    {
        foreach (var child in _running.Keys)
        {
            child.SignalGroup(signal);
        }
    }

    private static ChildStartException StartError(string command, int error) => new(command, error, LibC.ErrorText(error));

    // Descriptors of -1 are not passed: stdin then reads /dev/null, stdout/stderr stay unset, and no
    // error pipe becomes fd 3.
    // A bare name is looked up in the job's PATH, as execvp in the job would (and as the shim does):
    // posix_spawnp would search the server's instead. An empty entry is the working directory.
    private static string? FindProgram(string command, string path, string? workingDirectory)
    {
        if (command.Contains('/'))
        {
            return command;
        }

        string cwd = workingDirectory ?? Environment.CurrentDirectory;
        return path.Split(':')
            .Select(dir => Path.Combine(cwd, dir.Length == 0 ? "." : dir, command))
            .FirstOrDefault(File.Exists);
    }

    private static unsafe int Spawn(string program, string[] argv, string[] envp, string? workingDirectory, int stdinRead, int stdoutWrite, int stderrWrite, int errorWrite, out int pid)
    {
        using var strings = new NativeStrings();
        byte* path = strings.Add(program);
        byte** nativeArgv = strings.Array(argv);
        byte** nativeEnvp = strings.Array(envp);
        byte* devNull = strings.Add("/dev/null");
        byte* cwd = workingDirectory is null ? null : strings.Add(workingDirectory);

        void* actions = NativeMemory.AllocZeroed(LibC.FileActionsSize);
        void* attributes = NativeMemory.AllocZeroed(LibC.SpawnAttrSize);
        void* emptySet = NativeMemory.AllocZeroed(LibC.SigSetSize);
        void* fullSet = NativeMemory.AllocZeroed(LibC.SigSetSize);
        try
        {
            LibC.posix_spawn_file_actions_init(actions);
            LibC.posix_spawnattr_init(attributes);
            try
            {
                int error = 0;
                Check(ref error, stdinRead >= 0
                    ? LibC.posix_spawn_file_actions_adddup2(actions, stdinRead, 0)
                    : LibC.posix_spawn_file_actions_addopen(actions, 0, devNull, LibC.O_RDONLY, 0));
                if (stdoutWrite >= 0)
                {
                    Check(ref error, LibC.posix_spawn_file_actions_adddup2(actions, stdoutWrite, 1));
                }

                if (stderrWrite >= 0)
                {
                    Check(ref error, LibC.posix_spawn_file_actions_adddup2(actions, stderrWrite, 2));
                }

                if (errorWrite >= 0)
                {
                    Check(ref error, LibC.posix_spawn_file_actions_adddup2(actions, errorWrite, 3));
                }
                if (cwd is not null)
                {
                    Check(ref error, LibC.posix_spawn_file_actions_addchdir_np(actions, cwd));
                }

                // Descriptors the server opened without O_CLOEXEC (by any library) must not reach the job.
                Check(ref error, LibC.posix_spawn_file_actions_addclosefrom_np(actions, errorWrite >= 0 ? 4 : 3));

                // The runtime ignores SIGPIPE and blocks some signals; ignored dispositions and the
                // mask survive exec, so the child would inherit them without this reset.
                LibC.sigemptyset(emptySet);
                LibC.sigfillset(fullSet);
                Check(ref error, LibC.posix_spawnattr_setsigmask(attributes, emptySet));
                Check(ref error, LibC.posix_spawnattr_setsigdefault(attributes, fullSet));
                Check(ref error, LibC.posix_spawnattr_setpgroup(attributes, 0));
                Check(ref error, LibC.posix_spawnattr_setflags(
                    attributes,
                    LibC.POSIX_SPAWN_SETPGROUP | LibC.POSIX_SPAWN_SETSIGDEF | LibC.POSIX_SPAWN_SETSIGMASK));
                if (error != 0)
                {
                    pid = 0;
                    return error;
                }

                int childPid;
                error = LibC.posix_spawn(&childPid, path, actions, attributes, nativeArgv, nativeEnvp);
                pid = childPid;
                return error;
            }
            finally
            {
                LibC.posix_spawnattr_destroy(attributes);
                LibC.posix_spawn_file_actions_destroy(actions);
            }
        }
        finally
        {
            NativeMemory.Free(actions);
            NativeMemory.Free(attributes);
            NativeMemory.Free(emptySet);
            NativeMemory.Free(fullSet);
        }
    }

    private static void Check(ref int error, int result)
    {
        if (error == 0 && result != 0)
        {
            error = result;
        }
    }

    /// <summary>NUL-terminated UTF-8 copies of managed strings, freed together.</summary>
    private sealed unsafe class NativeStrings : IDisposable
    {
        private readonly List<nint> _blocks = [];

        public byte* Add(string value)
        {
            int length = Encoding.UTF8.GetByteCount(value);
            byte* native = (byte*)NativeMemory.Alloc((nuint)length + 1);
            _blocks.Add((nint)native);
            Encoding.UTF8.GetBytes(value, new Span<byte>(native, length));
            native[length] = 0;
            return native;
        }

        public byte** Array(string[] values)
        {
            byte** array = (byte**)NativeMemory.AllocZeroed((nuint)(values.Length + 1), (nuint)sizeof(nint));
            _blocks.Add((nint)array);
            for (int i = 0; i < values.Length; i++)
            {
                array[i] = Add(values[i]);
            }

            return array;
        }

        public void Dispose()
        {
            foreach (nint block in _blocks)
            {
                NativeMemory.Free((void*)block);
            }
        }
    }
}
