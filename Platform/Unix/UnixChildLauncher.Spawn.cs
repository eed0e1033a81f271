using System.Runtime.InteropServices;
using System.Text;

namespace Jobs.Platform.Unix;

// Sockets, cgroup and posix_spawn of one child.
internal sealed partial class UnixChildLauncher
{
    private unsafe Launched Launch(ChildSpec spec)
    {
        var (argv, envp, path) = JobArguments(spec);

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
            program = FindProgram(spec.Command, path, spec.WorkingDirectory);
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
    // error pipe becomes fd 3.
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
