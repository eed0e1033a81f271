using System.Runtime.Versioning;
using System.Threading.Channels;
using Microsoft.Win32.SafeHandles;

namespace Jobs.Platform.Windows;

/// <summary>
/// A child in a Job Object of its own. When the child exits, whatever it left running in its job is
/// terminated too, so a job never leaves processes behind and its output pipes reach end of file.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed class WindowsChild : IChild
{
    private const int ReadSize = 64 * 1024;
    private const uint KilledExitCode = 1;
    private static readonly TimeSpan JobGoneTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DrainAfterExit = TimeSpan.FromSeconds(2);

    private readonly Channel<ChildOutput> _output = Channel.CreateBounded<ChildOutput>(
        new BoundedChannelOptions(16) { SingleReader = true, SingleWriter = false });

    private readonly SafeProcessHandle _process;
    private readonly nint _job;
    private readonly Task _readers;
    private readonly PipeInput? _input;
    private readonly PseudoConsole? _console;
    private readonly Lock _gate = new();
    private bool _killed;
    private bool _jobClosed;

    // stderrRead is 0 on a pseudoconsole, whose one output pipe carries the screen.
    public WindowsChild(int pid, nint process, nint job, nint stdoutRead, nint stderrRead, PipeInput? input, PseudoConsole? console)
    {
        Pid = pid;
        _process = new SafeProcessHandle(process, ownsHandle: true);
        _job = job;
        _input = input;
        _console = console;
        // Anonymous pipes on Windows cannot be read asynchronously: one thread per stream blocks in ReadFile.
        var stdout = Task.Factory.StartNew(() => Pump(stdoutRead, ChildStream.Stdout), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        _readers = stderrRead == 0
            ? stdout
            : Task.WhenAll(stdout, Task.Factory.StartNew(() => Pump(stderrRead, ChildStream.Stderr), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
        Exited = EndAsync(WhenSignalled(_process));
    }

    public int Pid { get; }

    public IChildInput? Input => _input;

    public ChannelReader<ChildOutput> Output => _output.Reader;

    public Task<ChildExit> Exited { get; }

    public async Task<ChildExit> KillAsync(CancellationToken cancellationToken)
    {
        Terminate();
        return await Exited.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<ChildExit> StopAsync(TimeSpan grace, CancellationToken cancellationToken)
    {
        // Windows has no SIGTERM: the nearest ask to stop is Ctrl+C typed on a terminal child's
        // console, or else Ctrl+Break to the child's process group, which reaches only console
        // programs that share the server's console.
        Interrupt();
        if (grace > TimeSpan.Zero)
        {
            await Task.WhenAny(Exited, Task.Delay(grace, cancellationToken)).ConfigureAwait(false);
        }

        return await KillAsync(cancellationToken).ConfigureAwait(false);
    }

    public bool Signal(string name)
    {
        string signal = name.ToUpperInvariant();
        signal = signal.StartsWith("SIG", StringComparison.Ordinal) ? signal[3..] : signal;
        if (Exited.IsCompleted)
        {
            return false;
        }

        switch (signal)
        {
            case "KILL" or "9":
                Terminate();
                return true;
            case "BREAK" or "INT" or "2":
                return Interrupt();
            default:
                throw new PlatformNotSupportedException($"Windows has no signal '{name}'; it can send KILL and BREAK (Ctrl+Break)");
        }
    }

    // A terminal child is on a console of its own, which Ctrl+Break from here cannot reach.
    private bool Interrupt() =>
        _input is { IsTerminal: true } terminal ? terminal.Interrupt() : Win32.GenerateConsoleCtrlEvent(Win32.CTRL_BREAK_EVENT, Pid);

    /// <summary>Terminates every process in the job, the child included.</summary>
    internal void Terminate()
    {
        lock (_gate)
        {
            if (!_jobClosed)
            {
                _killed = true;
                Win32.TerminateJobObject(_job, KilledExitCode);
            }
        }
    }

    private static Task WhenSignalled(SafeProcessHandle process)
    {
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handle = new ProcessWaitHandle(process);
        RegisteredWaitHandle? registration = null;
        registration = ThreadPool.RegisterWaitForSingleObject(
            handle,
            (_, _) =>
            {
                exited.TrySetResult();
                registration?.Unregister(null);
                handle.Dispose();
            },
            null,
            Timeout.Infinite,
            executeOnlyOnce: true);
        return exited.Task;
    }

    private void Pump(nint read, ChildStream stream)
    {
        using var pipe = new FileStream(new SafeFileHandle(read, ownsHandle: true), FileAccess.Read, bufferSize: 0, isAsync: false);
        var buffer = new byte[ReadSize];
        try
        {
            int got;
            while ((got = pipe.Read(buffer, 0, buffer.Length)) > 0)
            {
                var data = buffer.AsSpan(0, got).ToArray();
                while (!_output.Writer.TryWrite(new ChildOutput(stream, data)))
                {
                    // Bounded: wait for the consumer, as a full pipe would make the child wait.
                    if (!_output.Writer.WaitToWriteAsync().AsTask().GetAwaiter().GetResult())
                    {
                        return;
                    }
                }
            }
        }
        catch (IOException)
        {
            // ERROR_BROKEN_PIPE is the end of the output; anything else ends it too.
        }
    }

    private async Task<ChildExit> EndAsync(Task leaderExited)
    {
        await leaderExited.ConfigureAwait(false);
        Win32.GetExitCodeProcess(_process.DangerousGetHandle(), out uint code);

        // Whatever the child left in its job goes too, and is waited for.
        bool killed;
        lock (_gate)
        {
            killed = _killed;
            Win32.TerminateJobObject(_job, KilledExitCode);
        }

        var deadline = DateTime.UtcNow + JobGoneTimeout;
        while (ActiveProcesses() > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5).ConfigureAwait(false);
        }

        _input?.Close();

        // The pseudoconsole's host holds the output pipe open until it is closed; closing it may wait
        // for the host to write its last output, which the readers are taking meanwhile.
        var consoleClosed = _console is null ? Task.CompletedTask : Task.Run(_console.Close);
        await Task.WhenAny(Task.WhenAll(_readers, consoleClosed), Task.Delay(DrainAfterExit)).ConfigureAwait(false);
        _output.Writer.TryComplete();
        _input?.Release();
        ChildUsage? usage;
        lock (_gate)
        {
            usage = ReadUsage()?.Final();
            _jobClosed = true;
            Win32.CloseHandle(_job);
        }

        _process.Dispose();
        return (killed ? new ChildExit(null, null, null) : new ChildExit((int)code, null, null)) with { Usage = usage };
    }

    /// <inheritdoc/>
    public ChildUsage? Usage()
    {
        lock (_gate)
        {
            return _jobClosed ? null : ReadUsage();
        }
    }

    // The Job Object's accounting: CPU time and processes, IO (all reads and writes, not only the
    // disk's), peak committed memory, and committed memory now where this Windows tells it.
    private unsafe ChildUsage? ReadUsage()
    {
        // Without the IO counters where only the basic accounting is offered (Wine).
        var accounting = new Win32.JOBOBJECT_BASIC_AND_IO_ACCOUNTING_INFORMATION();
        bool io = Win32.QueryInformationJobObject(_job, Win32.JobObjectBasicAndIoAccountingInformation, &accounting, sizeof(Win32.JOBOBJECT_BASIC_AND_IO_ACCOUNTING_INFORMATION), 0);
        if (!io && !Win32.QueryInformationJobObject(_job, Win32.JobObjectBasicAccountingInformation, &accounting.BasicInfo, sizeof(Win32.JOBOBJECT_BASIC_ACCOUNTING_INFORMATION), 0))
        {
            return null;
        }

        var extended = new Win32.JOBOBJECT_EXTENDED_LIMIT_INFORMATION();
        long? peak = Win32.QueryInformationJobObject(_job, Win32.JobObjectExtendedLimitInformation, &extended, sizeof(Win32.JOBOBJECT_EXTENDED_LIMIT_INFORMATION), 0)
            ? (long)extended.PeakJobMemoryUsed
            : null;
        var memory = new Win32.JOBOBJECT_MEMORY_USAGE_INFORMATION();
        long? now = Win32.QueryInformationJobObject(_job, Win32.JobObjectMemoryUsageInformation, &memory, sizeof(Win32.JOBOBJECT_MEMORY_USAGE_INFORMATION), 0)
            ? (long)memory.JobMemory
            : null;
        return new ChildUsage(
            CpuTime: TimeSpan.FromTicks(accounting.BasicInfo.TotalUserTime + accounting.BasicInfo.TotalKernelTime),
            MemoryBytes: now,
            MemoryPeakBytes: peak,
            Tasks: accounting.BasicInfo.ActiveProcesses,
            IoReadBytes: io ? (long)accounting.IoInfo.ReadTransferCount : null,
            IoWriteBytes: io ? (long)accounting.IoInfo.WriteTransferCount : null);
    }

    private unsafe uint ActiveProcesses()
    {
        var accounting = new Win32.JOBOBJECT_BASIC_ACCOUNTING_INFORMATION();
        return Win32.QueryInformationJobObject(_job, Win32.JobObjectBasicAccountingInformation, &accounting, sizeof(Win32.JOBOBJECT_BASIC_ACCOUNTING_INFORMATION), 0)
            ? accounting.ActiveProcesses
            : 0;
    }

    private sealed class ProcessWaitHandle : WaitHandle
    {
        public ProcessWaitHandle(SafeProcessHandle process)
        {
            SafeWaitHandle = new SafeWaitHandle(process.DangerousGetHandle(), ownsHandle: false);
        }
    }
}
