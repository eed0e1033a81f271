using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Jobs.Platform.Unix;

// Sockets, cgroup and posix_spawn of one child.
internal sealed partial class UnixChildLauncher
{
    private unsafe Launched Launch(ChildSpec spec)
    {
        var (argv, envp, path) = JobArguments(spec);
        spec.Limits?.Validate();
        if (spec.Limits is { None: false } && _cgroups is null)
        {
            throw new LimitUnavailableException($"resource limits need job cgroups, which this server cannot use: {TreeTracking}");
        }

        if (spec.Isolate && !File.Exists(_shim))
        {
            throw new LimitUnavailableException($"isolation needs {_shim}, which is missing");
        }

        if (spec.Terminal is { IsValid: false })
        {
            throw new ArgumentException($"a terminal's rows and columns must be 1-{TerminalSize.Max}", nameof(spec));
        }

        // Only the shim can make the job a session leader with its terminal as the controlling one.
        if (spec.Terminal is not null && !File.Exists(_shim))
        {
            throw new LimitUnavailableException($"a terminal needs {_shim}, which is missing");
        }

        if (spec.Account is not null)
        {
            CheckAccount(spec.Account);
        }

        // The server's ends, closed here only if the launch fails; the child's ends, closed here always.
        var server = new List<int>();
        var child = new List<int>();
        JobCgroup? cgroup = null;
        PseudoTerminal? terminal = null;
        try
        {
            // The job writes into Unix stream sockets rather than pipes (as systemd does for the journal):
            // the runtime reads sockets through epoll, while its anonymous-pipe reads block a pool
            // thread each, which thousands of quiet jobs would exhaust. Output flows one way: the job
            // cannot read back from its stdout, and we never write to it.
            // On a terminal, its slave is all three, as on any terminal.
            int stdoutRead = -1, stdoutWrite, stderrRead = -1, stderrWrite, stdinWrite = -1, stdinRead;
            if (spec.Terminal is { } size)
            {
                terminal = OpenTerminal(spec.Command, size, out int slave);
                child.Add(slave);
                stdinRead = stdoutWrite = stderrWrite = slave;
            }
            else
            {
                (stdoutRead, stdoutWrite) = SocketPair(spec.Command, server, child, serverShut: -1, childShut: LibC.SHUT_RD);
                (stderrRead, stderrWrite) = SocketPair(spec.Command, server, child, serverShut: -1, childShut: LibC.SHUT_RD);

                // Stdin the same way (epoll, not a blocked thread per job), the other way round.
                (stdinWrite, stdinRead) = spec.Stdin
                    ? SocketPair(spec.Command, server, child, serverShut: LibC.SHUT_RD, childShut: LibC.SHUT_WR)
                    : (-1, -1);
            }

            cgroup = CreateCgroup(spec);
            bool shim = cgroup is not null || spec.Isolate || terminal is not null || spec.Account is not null || _jobOomScore is not null;
            string? program;
            if (shim)
            {
                // The shim looks the program up itself (execvp, in the job's environment).
                string[] joins = [.. (cgroup?.Folders ?? []).SelectMany(f => new[] { "-j", Path.Combine(f, "cgroup.procs") })];
                string[] fault = ShimFault is null ? [] : ["-F", ShimFault];
                string[] oom = _jobOomScore is { } score ? ["-o", score.ToString(CultureInfo.InvariantCulture)] : [];
                string[] account = spec.Account is { } a
                    ? ["-u", string.Join(':', [a.Uid.ToString(CultureInfo.InvariantCulture), a.Gid.ToString(CultureInfo.InvariantCulture), .. a.Groups.Count > 0 ? [string.Join(',', a.Groups)] : Array.Empty<string>()])]
                    : [];
                argv = [_shim, "exec", .. joins, .. oom, .. spec.Isolate ? ["-i"] : Array.Empty<string>(), .. terminal is not null ? ["-t"] : Array.Empty<string>(), .. account, .. fault, "--", .. argv];
                program = _shim;
            }
            else
            {
                program = FindProgram(spec.Command, path, spec.WorkingDirectory);
            }

            int errorRead = -1;
            int errorWrite = -1;
            if (shim)
            {
                (errorRead, errorWrite) = SocketPair(spec.Command, server, child, serverShut: -1, childShut: -1);
            }

            int pid = 0;
            int spawnError = program is null
                ? LibC.ENOENT
                : Spawn(program, argv, envp, WorkingDirectory(spec), stdinRead, stdoutWrite, stderrWrite, errorWrite, newSession: terminal is not null && !spec.Isolate, out pid);
            if (spawnError != 0)
            {
                throw StartError(spec.Command, spawnError);
            }

            return new Launched(pid, stdoutRead, stderrRead, cgroup, errorRead, stdinWrite, terminal);
        }
        catch
        {
            server.ForEach(fd => LibC.close(fd));
            terminal?.Dispose();
            cgroup?.KillAndRemoveAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
            throw;
        }
        finally
        {
            child.ForEach(fd => LibC.close(fd));
        }
    }

    // Its limits are written through files: a server out of descriptors is refused here as anywhere else.
    private JobCgroup? CreateCgroup(ChildSpec spec)
    {
        try
        {
            return _cgroups?.Create(spec.Limits);
        }
        catch (IOException e) when (e.HResult is LibC.EMFILE or LibC.ENFILE)
        {
            throw StartError(spec.Command, e.HResult);
        }
    }

    // A job run as an account starts in its home, as a login does, unless it names a folder.
    private static string? WorkingDirectory(ChildSpec spec) => spec.WorkingDirectory ?? spec.Account?.Home;

    private void CheckAccount(ChildAccount account)
    {
        if (LibC.geteuid() != 0)
        {
            throw new LimitUnavailableException(
                $"running a job as the account {account.Name} needs a server that runs as root; this one runs as uid {LibC.geteuid()}");
        }

        // Only the shim can give up root between fork and exec.
        if (!File.Exists(_shim))
        {
            throw new LimitUnavailableException($"running a job as another account needs {_shim}, which is missing");
        }

        if (account.Groups.Count > ChildAccount.MaxGroups)
        {
            throw new ArgumentException($"the account {account.Name} has {account.Groups.Count} supplementary groups; at most {ChildAccount.MaxGroups} are supported", nameof(account));
        }

        // The kernel's (uid_t)-1 means "unchanged" to setresuid: never an account.
        if (account.Uid == uint.MaxValue || account.Gid == uint.MaxValue || account.Groups.Contains(uint.MaxValue))
        {
            throw new ArgumentException($"the account {account.Name} has an invalid id (4294967295)", nameof(account));
        }
    }

    private static PseudoTerminal OpenTerminal(string command, TerminalSize size, out int slave)
    {
        try
        {
            return PseudoTerminal.Open(size, out slave);
        }
        catch (IOException e)
        {
            throw new ChildStartException(command, LibC.EIO, e.Message);
        }
    }

    // A connected pair, each end shut down one way (-1: not at all); its ends are added to the lists
    // (the server's and the child's) as soon as they exist, so that a later failure closes them.
    private unsafe (int Server, int Child) SocketPair(string command, List<int> server, List<int> child, int serverShut, int childShut)
    {
        int* pair = stackalloc int[2];
        if (LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0, pair) != 0)
        {
            throw StartError(command, Marshal.GetLastPInvokeError());
        }

        server.Add(pair[0]);
        child.Add(pair[1]);
        if (serverShut >= 0)
        {
            LibC.shutdown(pair[0], serverShut);
        }

        if (childShut >= 0)
        {
            LibC.shutdown(pair[1], childShut);
        }

        return (pair[0], pair[1]);
    }

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

    // Descriptors of -1 are not passed: stdin then reads /dev/null, stdout/stderr stay unset, and no
    // error pipe becomes fd 3. newSession: the child leads a session (and so a process group) of its
    // own, for a terminal; setsid and joining a group of its own exclude each other (a group leader
    // cannot setsid), so it is one or the other, and either way its pid is its group's id.
    private static unsafe int Spawn(string program, string[] argv, string[] envp, string? workingDirectory, int stdinRead, int stdoutWrite, int stderrWrite, int errorWrite, bool newSession, out int pid)
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
                    (short)((newSession ? LibC.POSIX_SPAWN_SETSID : LibC.POSIX_SPAWN_SETPGROUP) | LibC.POSIX_SPAWN_SETSIGDEF | LibC.POSIX_SPAWN_SETSIGMASK)));
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
