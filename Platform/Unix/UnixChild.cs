using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Jobs.Platform.Unix;

/// <summary>
/// A child in a process group of its own. When the child exits, whatever it left running in its
/// group is killed too (like systemd's control-group kill mode), so that a job never leaves
/// processes behind and its output sockets reach end of file.
/// </summary>
internal sealed partial class UnixChild : IChild
{
    // Enough to carry a fast writer's reads while the consumer catches up, small enough that a
    // stalled consumer holds at most ReadSize * Capacity bytes before the child blocks on its socket.
    // Below the large object heap's 85,000 bytes: each read is a short-lived array, and large ones
    // would cost a full (gen 2) collection every few megabytes.
    private const int ReadSize = 64 * 1024;
    internal const int Capacity = 16;

    // A read this large suggests more is waiting: read again without waiting for readiness first.
    private const int BusyRead = 32 * 1024;

    // Without a job cgroup (or when it could not be emptied), a descendant that left the group (its
    // own session) can hold the sockets open forever: once the group is gone, each reader may wait
    // this long in all for more data. Time spent handing reads to a slow consumer does not count.
    private static readonly TimeSpan DrainAfterExit = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan GroupGoneTimeout = TimeSpan.FromSeconds(10);

    // Once the tree is gone, a consumer that takes nothing for this long has stopped reading (it
    // failed, or killed the job and only waits for its end): the rest of the output is dropped so
    // that the end is still reported. A consumer that is merely slow keeps every byte.
    private static readonly TimeSpan ConsumerGoneAfter = TimeSpan.FromSeconds(30);

    private readonly Channel<ChildOutput> _output = Channel.CreateBounded<ChildOutput>(
        new BoundedChannelOptions(Capacity) { SingleReader = true, SingleWriter = false });

    // Cancelled when the readers may no longer wait for data without a bound (see DrainAfterExit).
    private readonly CancellationTokenSource _drain = new();

    // Cancelled when the consumer has stopped reading (see ConsumerGoneAfter).
    private readonly CancellationTokenSource _abandon = new();
    private readonly Action<UnixChild> _onEnded;
    private readonly Task _readers;
    private readonly Func<Task>? _exitFault;
    private long _handedOver;
    private readonly Lock _signalGate = new();
    private bool _reaped;

    // Set before the job's cgroup is emptied for the last time: its folder may then hold the next job.
    private bool _cgroupReleased;

    private readonly JobCgroup? _cgroup;
    private readonly IUnixInput? _input;
    private readonly PseudoTerminal? _terminal;

    // exitFault: a test's fault in the exit path, run after the reap; null in the server.
    // terminal: the job's pseudo-terminal, read instead of the two sockets (then -1).
    public UnixChild(int pid, int stdoutFd, int stderrFd, PseudoTerminal? terminal, IUnixInput? input, JobCgroup? cgroup, Task leaderExited, Action<UnixChild> onStarted, Action<UnixChild> onEnded, Func<Task>? exitFault = null)
    {
        Pid = pid;
        _input = input;
        _terminal = terminal;
        onStarted(this);
        _cgroup = cgroup;
        _onEnded = onEnded;
        _exitFault = exitFault;
        _readers = terminal is not null
            ? ReadTerminal(terminal)
            : Task.WhenAll(
                PumpAsync(stdoutFd, ChildStream.Stdout),
                PumpAsync(stderrFd, ChildStream.Stderr));
        Exited = EndAsync(leaderExited);
    }

    public int Pid { get; }

    /// <inheritdoc/>
    public ChildUsage? Usage()
    {
        // Once released, the folders may hold the next job.
        lock (_signalGate)
        {
            if (_cgroup is null || _cgroupReleased)
            {
                return null;
            }

            try
            {
                return _cgroup.Usage();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }
    }

    /// <summary>The job's cgroups, when it has them.</summary>
    internal JobCgroup? Cgroup => _cgroup;

    public IChildInput? Input => _input;

    public ChannelReader<ChildOutput> Output => _output.Reader;

    public Task<ChildExit> Exited { get; }

    public async Task<ChildExit> KillAsync(CancellationToken cancellationToken)
    {
        SignalGroup(LibC.SIGKILL);
        return await Exited.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<ChildExit> StopAsync(TimeSpan grace, CancellationToken cancellationToken)
    {
        SignalGroup(LibC.SIGTERM);
        if (grace > TimeSpan.Zero)
        {
            await Task.WhenAny(Exited, Task.Delay(grace, cancellationToken)).ConfigureAwait(false);
        }

        return await KillAsync(cancellationToken).ConfigureAwait(false);
    }

    public bool Signal(string name)
    {
        if (!SignalNames.TryParse(name, out int signal))
        {
            throw new PlatformNotSupportedException($"there is no signal '{name}'");
        }

        return SignalGroup(signal);
    }

    /// <summary>Sends a signal to the whole group unless the leader has been reaped (its pid may be reused then).</summary>
    internal bool SignalGroup(int signal)
    {
        lock (_signalGate)
        {
            // The kernel signals the group at once; the cgroup adds the descendants that left the
            // group (setsid), each signalled once.
            bool sent = !_reaped && ProcessGroup.Signal(Pid, signal);
            return (_cgroup is not null && !_cgroupReleased && Cgroups.Signal(_cgroup.Tracking, signal, _reaped ? 0 : Pid) > 0) || sent;
        }
    }

    private async Task PumpAsync(int fd, ChildStream stream)
    {
        await Task.Yield();
        using var socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
        var drainLeft = new DrainBudget { Left = DrainAfterExit };
        try
        {
            bool busy = false;
            while (true)
            {
                // A zero-byte receive waits for data without holding a buffer, so a quiet job costs
                // none. After a large read more is likely waiting: read it at once.
                if (!busy)
                {
                    await ReceiveAsync(socket, Memory<byte>.Empty, drainLeft).ConfigureAwait(false);
                }

                byte[] buffer = ArrayPool<byte>.Shared.Rent(ReadSize);
                int read;
                try
                {
                    read = await ReceiveAsync(socket, buffer.AsMemory(0, ReadSize), drainLeft).ConfigureAwait(false);
                    if (read == 0)
                    {
                        return;
                    }

                    busy = read >= BusyRead;

                    // Bytes read are handed over however long the consumer takes, unless it stopped reading.
                    await _output.Writer.WriteAsync(new ChildOutput(stream, buffer.AsSpan(0, read).ToArray()), _abandon.Token).ConfigureAwait(false);
                    Interlocked.Add(ref _handedOver, read);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // An escaped descendant still holds the socket after the drain, or nobody consumes output.
        }
        catch (SocketException)
        {
            // The connection broke; whatever was read has been handed over.
        }
    }

    // Unbounded while every writer may still be alive, or while the job's cgroup proves none is left
    // (then end of file comes once the socket is read out); bounded by the drain once only escaped
    // descendants could be holding the socket.
    private async ValueTask<int> ReceiveAsync(Socket socket, Memory<byte> buffer, DrainBudget drainLeft)
    {
        if (!_drain.IsCancellationRequested)
        {
            try
            {
                return await socket.ReceiveAsync(buffer, SocketFlags.None, _drain.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_drain.IsCancellationRequested)
            {
                // Nothing was received: wait again, within the drain.
            }
        }

        using var timeout = new CancellationTokenSource(drainLeft.Left > TimeSpan.Zero ? drainLeft.Left : TimeSpan.FromMilliseconds(1));
        long started = Stopwatch.GetTimestamp();
        try
        {
            return await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
        }
        finally
        {
            drainLeft.Left -= Stopwatch.GetElapsedTime(started);
        }
    }

    private async Task<ChildExit> EndAsync(Task leaderExited)
    {
        // Never faults: whatever goes wrong after the leader's exit, the exit is still reported,
        // with what went wrong beside it, and output and the launcher's table are still finished.
        var problems = new List<string>();
        int result = 0;
        int status = 0;
        try
        {
            await leaderExited.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            problems.Add($"watching for the exit failed: {e.Message}");
        }

        try
        {
            // The leader is a zombie, so its pid (the group id) cannot be reused yet: sweep the group,
            // then reap. Nothing is signalled after the reap, so a recycled id is never hit.
            lock (_signalGate)
            {
                ProcessGroup.Signal(Pid, LibC.SIGKILL);
                result = LibC.WaitPid(Pid, 0, out status, out _);
                _reaped = true;
            }
        }
        catch (Exception e)
        {
            problems.Add($"reaping failed: {e.Message}");
        }

        int oomKills = 0;
        bool treeGone = false;
        try
        {
            if (_exitFault is not null)
            {
                await _exitFault().ConfigureAwait(false);
            }

            // Counted before the folders go; an OOM kill that ended the job has happened by now.
            oomKills = _cgroup?.OomKills() ?? 0;
        }
        catch (Exception e)
        {
            problems.Add($"counting the job's OOM kills failed: {e.Message}");
        }

        try
        {
            if (_cgroup is not null)
            {
                // Exact: the cgroup holds every descendant, in the group or not, and no zombies.
                lock (_signalGate)
                {
                    _cgroupReleased = true;
                }

                treeGone = await _cgroup.KillAndRemoveAsync(GroupGoneTimeout).ConfigureAwait(false);
                if (!treeGone)
                {
                    problems.Add($"processes of the job were still in {_cgroup.Tracking} after {GroupGoneTimeout.TotalSeconds:0} s of SIGKILL; its removal is retried");
                }
            }
            else if (ProcessGroup.Signal(Pid, 0))
            {
                // A group outlives its leader only while other members exist: usually none, and the
                // check is one call. Members killed above may take a moment to die (zombies of them
                // may stay when nobody reaps orphans), so only then is /proc read until none is alive.
                await ProcessGroup.WaitGoneAsync(Pid, GroupGoneTimeout, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            problems.Add($"ending the job's other processes failed: {e.Message}");
        }

        // Nobody is left to read stdin (or only an escaped descendant, which gets no more of it).
        _input?.Close();

        try
        {
            // With the cgroup empty no writer is left: the readers reach end of file. Otherwise an
            // escaped descendant may hold a socket, and only a bounded drain is left.
            if (!treeGone)
            {
                await _drain.CancelAsync().ConfigureAwait(false);
            }

            await WaitForReadersAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            problems.Add($"reading the last output failed: {e.Message}");
        }

        _output.Writer.TryComplete();

        // Closed once the reader and the writer are done with it (PseudoTerminal counts its users).
        _terminal?.Dispose();
        _onEnded(this);
        if (_readers.IsCompleted)
        {
            _drain.Dispose();
            _abandon.Dispose();
        }

        var exit = result == Pid ? Decode(status) : new ChildExit(null, null, "unknown (reaped elsewhere)");
        return exit with { OomKills = oomKills, Usage = _cgroup?.FinalUsage, Problem = problems.Count == 0 ? null : string.Join("; ", problems) };
    }

    // Waits for the readers as long as the consumer takes output; stops them once it has taken
    // nothing for ConsumerGoneAfter.
    private async Task WaitForReadersAsync()
    {
        while (true)
        {
            long before = Interlocked.Read(ref _handedOver);
            if (await Task.WhenAny(_readers, Task.Delay(ConsumerGoneAfter)).ConfigureAwait(false) == _readers)
            {
                await _readers.ConfigureAwait(false);
                return;
            }

            if (Interlocked.Read(ref _handedOver) == before)
            {
                await _drain.CancelAsync().ConfigureAwait(false);
                await _abandon.CancelAsync().ConfigureAwait(false);
            }
        }
    }

    private static ChildExit Decode(int status)
    {
        int signal = status & 0x7f;
        if (signal == 0)
        {
            return new ChildExit((status >> 8) & 0xff, null, null);
        }

        return new ChildExit(null, signal, SignalNames.NameOf(signal));
    }

    // What one reader may still wait for data once the drain has begun.
    private sealed class DrainBudget
    {
        public TimeSpan Left { get; set; }
    }
}
