using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Jobs.Platform.Windows;

/// <summary>
/// Starts children with <c>CreateProcessAsUserW</c> and a restricted token (<see cref="RestrictedToken"/>):
/// the server's own, with the Administrators group (and the other administrators' groups: "Local
/// account and member of Administrators group", Domain, Schema and Enterprise Admins) deny-only and
/// every privilege but <c>SeChangeNotifyPrivilege</c> removed, so that a job started by a server
/// running as an administrator cannot use an administrator's rights. Children start suspended, are
/// placed in a Job Object of their own (with their limits and <c>KILL_ON_JOB_CLOSE</c>, so nothing
/// outlives the server), then resumed, so the first instruction already runs inside the job. Only the
/// child's stdin, stdout and stderr are inherited (<c>PROC_THREAD_ATTRIBUTE_HANDLE_LIST</c>); stdin is
/// <c>NUL</c>, or a pipe the server writes (<see cref="ChildSpec.Stdin"/>). A terminal is a ConPTY
/// pseudoconsole, whose host holds the pipes, so that child inherits nothing.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed class WindowsChildLauncher : IChildLauncher, IDisposable
{
    private readonly ConcurrentDictionary<int, WindowsChild> _running = new();

    // A job that asks for no process or memory limit still gets these in its Job Object.
    private readonly int? _defaultPids;
    private readonly long? _defaultMemory;

    public WindowsChildLauncher(PlatformOptions? options = null)
    {
        _defaultPids = (options?.DefaultJobPids ?? DefaultPids) is var pids && pids > 0 ? pids : null;
        long total = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        _defaultMemory = PlatformOptions.JobsMemoryBudget(options, total) is var memory && memory > 0 ? memory : null;
        TreeTracking = "a Job Object per job (KILL_ON_JOB_CLOSE); a job without limits of its own gets at most "
            + (_defaultPids is { } p ? $"{p} processes" : "any number of processes") + " and "
            + (_defaultMemory is { } m ? $"{ByteSize.Format(m)} of committed memory (the machine's {ByteSize.Format(total)} less the reserve)" : "any amount of memory");
    }

    // Windows has no pid_max: 15 % of Linux's usual 32,768, as systemd's DefaultTasksMax= gives there.
    private const int DefaultPids = 4915;

    public string TreeTracking { get; }

    /// <inheritdoc/>
    public int? DefaultMaxProcesses => _defaultPids;

    public Task<IChild> StartAsync(ChildSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (string.IsNullOrEmpty(spec.Command))
        {
            throw new ArgumentException("the command is empty", nameof(spec));
        }

        spec.Limits?.Validate();
        if (spec.Isolate)
        {
            throw new LimitUnavailableException("isolation (namespaces) is not available on Windows");
        }

        // A Unix account: running as another Windows user needs that user's logon token; this launcher
        // only restricts the server's own.
        if (spec.Account is not null)
        {
            throw new LimitUnavailableException("running a job as a Unix account is not available on Windows");
        }

        if (spec.Limits is { ReadBytesPerSecond: { Count: > 0 } } or { WriteBytesPerSecond: { Count: > 0 } })
        {
            throw new LimitUnavailableException("I/O rate limits are not available on Windows");
        }

        if (spec.Terminal is { } terminal)
        {
            if (!terminal.IsValid)
            {
                throw new ArgumentException($"a terminal's rows and columns are 1-{TerminalSize.Max}", nameof(spec));
            }

            if (!PseudoConsole.IsAvailable)
            {
                throw new LimitUnavailableException("a terminal (-t) needs ConPTY (CreatePseudoConsole, Windows 10 1809 or later), which this system lacks");
            }
        }

        if (spec.WorkingDirectory is { } cwd && !Directory.Exists(cwd))
        {
            throw new ChildStartException(spec.Command, 267, $"working directory '{cwd}' does not exist");
        }

        string commandLine = CommandLine.Build(spec.Command, spec.Args);
        string environment = EnvironmentBlock.Build(ChildEnvironment.Base(), spec.Environment);
        var child = Launch(spec, commandLine, environment);
        _running[child.Pid] = child;
        _ = child.Exited.ContinueWith(_ => _running.TryRemove(child.Pid, out WindowsChild? _), TaskScheduler.Default);
        return Task.FromResult<IChild>(child);
    }

    public async Task KillAllAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAll(_running.Values.Select(c => c.KillAsync(cancellationToken))).ConfigureAwait(false);
    }

    public void Dispose()
    {
        foreach (var child in _running.Values)
        {
            child.Terminate();
        }
    }

    private unsafe WindowsChild Launch(ChildSpec spec, string commandLine, string environment)
    {
        var handles = new List<nint>();
        nint token = 0;
        nint job = 0;
        nint attributes = 0;
        PseudoConsole? console = null;
        try
        {
            var @private = new Win32.SECURITY_ATTRIBUTES { nLength = sizeof(Win32.SECURITY_ATTRIBUTES), bInheritHandle = 0 };
            nint stdoutRead;
            nint stderrRead = 0;
            nint inputWrite = 0;
            nint[] inherited;
            if (spec.Terminal is { } terminal)
            {
                // The pseudoconsole's host holds the child's ends; the child inherits no handle at all.
                var (inputRead, write) = Pipe(ref @private, handles, "an input pipe");
                var (read, outputWrite) = Pipe(ref @private, handles, "an output pipe");
                console = PseudoConsole.Create(terminal, inputRead, outputWrite);
                Close(handles, inputRead, outputWrite);
                (stdoutRead, inputWrite, inherited) = (read, write, []);
            }
            else
            {
                var (read, stdoutWrite) = Pipe(ref @private, handles, "an output pipe");
                var (errorRead, stderrWrite) = Pipe(ref @private, handles, "an output pipe");
                nint stdin;
                if (spec.Stdin)
                {
                    (stdin, inputWrite) = Pipe(ref @private, handles, "an input pipe");
                }
                else
                {
                    stdin = Win32.CreateFile("NUL", Win32.GENERIC_READ, Win32.FILE_SHARE_READ | Win32.FILE_SHARE_WRITE, ref @private, Win32.OPEN_EXISTING, 0, 0);
                    if (stdin == -1)
                    {
                        throw Error(spec.Command, "cannot open NUL for the child's stdin");
                    }

                    handles.Add(stdin);
                }

                // Only the child's ends are inheritable, and exactly these three reach the child,
                // whatever else this process has made inheritable.
                inherited = [stdin, stdoutWrite, stderrWrite];
                foreach (nint handle in inherited)
                {
                    if (!Win32.SetHandleInformation(handle, Win32.HANDLE_FLAG_INHERIT, Win32.HANDLE_FLAG_INHERIT))
                    {
                        throw Error(spec.Command, "cannot make the child's end of a pipe inheritable");
                    }
                }

                (stdoutRead, stderrRead) = (read, errorRead);
            }

            job = Win32.CreateJobObject(0, null);
            if (job == 0)
            {
                throw Error(spec.Command, "cannot create a Job Object");
            }

            SetLimits(job, spec.Limits, _defaultMemory);

            nint size = 0;
            Win32.InitializeProcThreadAttributeList(0, 1, 0, ref size);
            attributes = Marshal.AllocHGlobal(size);
            if (!Win32.InitializeProcThreadAttributeList(attributes, 1, 0, ref size))
            {
                Marshal.FreeHGlobal(attributes);
                attributes = 0;
                throw Error(spec.Command, "cannot set up the process attributes");
            }

            // On a pseudoconsole the standard handles are INVALID_HANDLE_VALUE on purpose: Windows
            // gives a console child its console's handles for those (as Windows Terminal, WezTerm
            // and Alacritty rely on), while without STARTF_USESTDHANDLES the child would get the
            // server's own, redirected ones (seen under Wine: its output went to the server's stdout).
            var startup = new Win32.STARTUPINFOEXW
            {
                StartupInfo = new Win32.STARTUPINFOW
                {
                    cb = sizeof(Win32.STARTUPINFOEXW),
                    dwFlags = Win32.STARTF_USESTDHANDLES,
                    hStdInput = console is null ? inherited[0] : -1,
                    hStdOutput = console is null ? inherited[1] : -1,
                    hStdError = console is null ? inherited[2] : -1,
                },
                lpAttributeList = attributes,
            };

            token = RestrictedToken.Create(spec.Command);

            // CreateProcessAsUserW may write into the command line, so it gets a copy of its own. The
            // attribute list points into the pinned handle list until the process is created; a
            // pseudoconsole's attribute is the HPCON itself.
            char[] line = [.. commandLine, '\0'];
            Win32.PROCESS_INFORMATION process;
            fixed (nint* list = inherited)
            fixed (char* linePointer = line)
            fixed (char* environmentPointer = environment)
            {
                bool ok = console is null
                    ? Win32.UpdateProcThreadAttribute(attributes, 0, Win32.PROC_THREAD_ATTRIBUTE_HANDLE_LIST, (nint)list, inherited.Length * sizeof(nint), 0, 0)
                    : Win32.UpdateProcThreadAttribute(attributes, 0, Win32.PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE, console.Handle, sizeof(nint), 0, 0);
                if (!ok)
                {
                    throw Error(spec.Command, "cannot set up the process attributes");
                }

                // No new process group on a terminal: its Ctrl+C (0x03 typed) must reach the child as
                // a console's does, and a new group ignores Ctrl+C.
                int flags = Win32.CREATE_SUSPENDED | Win32.CREATE_UNICODE_ENVIRONMENT | Win32.EXTENDED_STARTUPINFO_PRESENT
                    | (console is null ? Win32.CREATE_NEW_PROCESS_GROUP : 0);
                if (!Win32.CreateProcessAsUser(
                        token,
                        null,
                        linePointer,
                        0,
                        0,
                        console is null,
                        flags,
                        environmentPointer,
                        spec.WorkingDirectory,
                        ref startup,
                        out process))
                {
                    int error = Marshal.GetLastPInvokeError();
                    throw new ChildStartException(spec.Command, error, Marshal.GetPInvokeErrorMessage(error));
                }
            }

            // Suspended until it is in its job: no instruction runs outside the job's limits.
            if (!Win32.AssignProcessToJobObject(job, process.hProcess) || Win32.ResumeThread(process.hThread) == -1)
            {
                var error = Error(spec.Command, "cannot place the process in its Job Object");
                Win32.TerminateJobObject(job, 1);
                Win32.CloseHandle(process.hThread);
                Win32.CloseHandle(process.hProcess);
                throw error;
            }

            Win32.CloseHandle(process.hThread);

            // The child holds its own copies now; ours would keep its output open after it exits,
            // and its stdin open after it closed it.
            Close(handles, inherited);
            handles.Remove(stdoutRead);
            handles.Remove(stderrRead);
            handles.Remove(inputWrite);
            var input = inputWrite == 0 ? null : new PipeInput(inputWrite, console);
            var child = new WindowsChild(process.dwProcessId, process.hProcess, job, stdoutRead, stderrRead, input, console);
            job = 0;
            console = null;
            return child;
        }
        finally
        {
            if (attributes != 0)
            {
                Win32.DeleteProcThreadAttributeList(attributes);
                Marshal.FreeHGlobal(attributes);
            }

            foreach (nint handle in handles)
            {
                Win32.CloseHandle(handle);
            }

            if (job != 0)
            {
                Win32.CloseHandle(job);
            }

            if (token != 0)
            {
                Win32.CloseHandle(token);
            }

            console?.Close();
        }
    }

    // Both ends private; the caller makes the child's end inheritable when the child is to inherit it.
    private static (nint Read, nint Write) Pipe(ref Win32.SECURITY_ATTRIBUTES @private, List<nint> handles, string what)
    {
        if (!Win32.CreatePipe(out nint read, out nint write, ref @private, 64 * 1024))
        {
            throw Error("CreatePipe", $"cannot create {what}");
        }

        handles.Add(read);
        handles.Add(write);
        return (read, write);
    }

    private static void Close(List<nint> handles, params ReadOnlySpan<nint> which)
    {
        foreach (nint handle in which)
        {
            Win32.CloseHandle(handle);
            handles.Remove(handle);
        }
    }

    private static unsafe void SetLimits(nint job, ChildLimits? limits, long? defaultMemory)
    {
        var extended = new Win32.JOBOBJECT_EXTENDED_LIMIT_INFORMATION();
        extended.BasicLimitInformation.LimitFlags = Win32.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        if (limits?.MaxProcesses is { } processes)
        {
            extended.BasicLimitInformation.LimitFlags |= Win32.JOB_OBJECT_LIMIT_ACTIVE_PROCESS;
            extended.BasicLimitInformation.ActiveProcessLimit = (uint)processes;
        }

        if ((limits?.MemoryBytes ?? defaultMemory) is { } memory)
        {
            // Committed memory of the whole job: an allocation beyond it fails (Windows kills nothing).
            extended.BasicLimitInformation.LimitFlags |= Win32.JOB_OBJECT_LIMIT_JOB_MEMORY;
            extended.JobMemoryLimit = (nuint)memory;
        }

        if (!Win32.SetInformationJobObject(job, Win32.JobObjectExtendedLimitInformation, &extended, sizeof(Win32.JOBOBJECT_EXTENDED_LIMIT_INFORMATION)))
        {
            throw new LimitUnavailableException($"the Job Object refused the limits: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }

        if (limits?.CpuCores is { } cores)
        {
            // A hard cap in 1/100 of a percent of the whole machine.
            var rate = new Win32.JOBOBJECT_CPU_RATE_CONTROL_INFORMATION
            {
                ControlFlags = Win32.JOB_OBJECT_CPU_RATE_CONTROL_ENABLE | Win32.JOB_OBJECT_CPU_RATE_CONTROL_HARD_CAP,
                CpuRate = (uint)Math.Clamp(Math.Round(cores / Environment.ProcessorCount * 10_000), 1, 10_000),
            };
            if (!Win32.SetInformationJobObject(job, Win32.JobObjectCpuRateControlInformation, &rate, sizeof(Win32.JOBOBJECT_CPU_RATE_CONTROL_INFORMATION)))
            {
                throw new LimitUnavailableException($"this Windows cannot cap CPU for a job: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
            }
        }
    }

    private static ChildStartException Error(string command, string what)
    {
        int error = Marshal.GetLastPInvokeError();
        return new ChildStartException(command, error, $"{what}: {Marshal.GetPInvokeErrorMessage(error)}");
    }
}
