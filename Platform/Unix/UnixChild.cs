using System.Buffers;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Jobs.Platform.Unix;

/// <summary>
/// A child in a process group of its own. When the child exits, whatever it left running in its
/// group is killed too (like systemd's control-group kill mode), so that a job never leaves
/// processes behind and its output sockets reach end of file.
/// </summary>
internal sealed class UnixChild : IChild
{
    // Enough to carry a fast writer's reads while the consumer catches up, small enough that a
    // stalled consumer holds at most ReadSize * Capacity bytes before the child blocks on its socket.
    // Below the large object heap's 85,000 bytes: each read is a short-lived array, and large ones
    // would cost a full (gen 2) collection every few megabytes.
    private const int ReadSize = 64 * 1024;
    private const int Capacity = 16;

    // A read this large suggests more is waiting: read again without waiting for readiness first.
    private const int BusyRead = 32 * 1024;

    // Without a job cgroup, a descendant that left the group (its own session) can hold the sockets open forever; after the
    // group is gone, output gets this long to drain before the job is declared ended.
    private static readonly TimeSpan DrainAfterExit = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan GroupGoneTimeout = TimeSpan.FromSeconds(10);

    private readonly Channel<ChildOutput> _output = Channel.CreateBounded<ChildOutput>(
        new BoundedChannelOptions(Capacity) { SingleReader = true, SingleWriter = false });

    private readonly CancellationTokenSource _stopReading = new();
    private readonly Action<UnixChild> _onEnded;
    private readonly Task _readers;
    private readonly Lock _signalGate = new();
    private bool _reaped;

    // Set before the job's cgroup is emptied for the last time: its folder may then hold the next job.
    private bool _cgroupReleased;

    private readonly JobCgroup? _cgroup;

    public UnixChild(int pid, int stdoutFd, int stderrFd, JobCgroup? cgroup, Task leaderExited, Action<UnixChild> onEnded)
    {
        Pid = pid;
        _cgroup = cgroup;
        _onEnded = onEnded;
        _readers = Task.WhenAll(
            PumpAsync(stdoutFd, ChildStream.Stdout),
            PumpAsync(stderrFd, ChildStream.Stderr));
        Exited = EndAsync(leaderExited);
    }

    public int Pid { get; }

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
        try
        {
            bool busy = false;
            while (true)
            {
                // A zero-byte receive waits for data without holding a buffer, so a quiet job costs
                // none. After a large read more is likely waiting: read it at once.
                if (!busy)
                {
                    await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, _stopReading.Token).ConfigureAwait(false);
                }

                byte[] buffer = ArrayPool<byte>.Shared.Rent(ReadSize);
                int read;
                try
                {
                    read = await socket.ReceiveAsync(buffer.AsMemory(0, ReadSize), SocketFlags.None, _stopReading.Token).ConfigureAwait(false);
                    if (read == 0)
                    {
                        return;
                    }

                    busy = read >= BusyRead;
                    await _output.Writer.WriteAsync(new ChildOutput(stream, buffer.AsSpan(0, read).ToArray()), _stopReading.Token).ConfigureAwait(false);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The job ended and an escaped descendant still holds the socket, or nobody consumes output.
        }
        catch (SocketException)
        {
            // The connection broke; whatever was read has been handed over.
        }
    }

    private async Task<ChildExit> EndAsync(Task leaderExited)
    {
        await leaderExited.ConfigureAwait(false);

        // The leader is a zombie, so its pid (the group id) cannot be reused yet: sweep the group,
        // then reap. Nothing is signalled after the reap, so a recycled id is never hit.
        int result;
        int status;
        lock (_signalGate)
        {
            ProcessGroup.Signal(Pid, LibC.SIGKILL);
            result = LibC.WaitPid(Pid, 0, out status, out _);
            _reaped = true;
        }

        int oomKills = 0;
        if (_cgroup is not null)
        {
            // Exact: the cgroup holds every descendant, in the group or not, and no zombies.
            // Counted before the folders go; an OOM kill that ended the job has happened by now.
            oomKills = _cgroup.OomKills();
            lock (_signalGate)
            {
                _cgroupReleased = true;
            }

            await _cgroup.KillAndRemoveAsync(GroupGoneTimeout).ConfigureAwait(false);
        }
        else if (ProcessGroup.Signal(Pid, 0))
        {
            // A group outlives its leader only while other members exist: usually none, and the
            // check is one call. Members killed above may take a moment to die (zombies of them
            // may stay when nobody reaps orphans), so only then is /proc read until none is alive.
            await ProcessGroup.WaitGoneAsync(Pid, GroupGoneTimeout, CancellationToken.None).ConfigureAwait(false);
        }

        if (await Task.WhenAny(_readers, Task.Delay(DrainAfterExit)).ConfigureAwait(false) != _readers)
        {
            await _stopReading.CancelAsync().ConfigureAwait(false);
        }

        await _readers.ConfigureAwait(false);
        _output.Writer.TryComplete();
        _stopReading.Dispose();
        _onEnded(this);
        var exit = result == Pid ? Decode(status) : new ChildExit(null, null, "unknown (reaped elsewhere)");
        return exit with { OomKills = oomKills };
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
}
