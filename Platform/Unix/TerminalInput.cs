namespace Jobs.Platform.Unix;

/// <summary>
/// A job's stdin when it runs on a terminal: bytes are written to the master, as keys typed at the
/// terminal. The same bounded queue as a socket's; end of input is the terminal's VEOF character.
/// </summary>
internal sealed class TerminalInput : IUnixInput
{
    // How long one wait for room in the terminal may block the writer before it looks whether it was closed.
    private const int PollMs = 200;

    private readonly InputQueue _queue = new();

    // Held around every write to the master, so that a write on the caller's thread (TryWrite) and
    // the writer thread's never interleave or reorder; never held while waiting for room.
    private readonly Lock _writeGate = new();
    private readonly PseudoTerminal _terminal;
    private readonly TaskCompletionSource _written = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TerminalInput(PseudoTerminal terminal)
    {
        _terminal = terminal;

        // A thread of its own: the master is a character device, which the runtime's epoll engine
        // does not read or write (only sockets), and a blocked pool thread per terminal would starve
        // the pool. Interactive jobs are few; a thread each costs little.
        new Thread(Run) { IsBackground = true, Name = "jobs-terminal-input" }.Start();
    }

    public bool IsTerminal => true;

    public bool IsClosed => _queue.IsClosed;

    /// <summary>Bytes taken and not yet in the terminal.</summary>
    internal int Waiting => _queue.Waiting;

    /// <summary>Completes once the writer has stopped: end of input written, or closed.</summary>
    internal Task Written => _written.Task;

    public bool TryWrite(ReadOnlyMemory<byte> data)
    {
        lock (_writeGate)
        {
            // A key typed into an idle terminal goes to the master at once, by a write that cannot
            // block (non-blocking descriptor): waking the writer thread first cost 0.5-1.7 ms of the
            // key's round trip on a loaded machine, against 0.03-0.1 ms so. Only into an empty queue,
            // so that bytes never overtake others; what the terminal does not take waits for the writer.
            if (_queue.Waiting == 0 && !_queue.IsClosed && !data.IsEmpty)
            {
                int written = _terminal.Write(data.Span, timeoutMs: 0);
                if (written == data.Length)
                {
                    return true;
                }

                if (written < 0)
                {
                    _queue.Close();
                    return false;
                }

                // An empty queue takes any piece: the rest is taken, so the piece is, whole.
                _queue.TryWrite(data[written..]);
                return true;
            }

            return _queue.TryWrite(data);
        }
    }

    public ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken) => _queue.WaitToWriteAsync(cancellationToken);

    // Read when asked, not at start: the job may have changed it (stty eof).
    public bool Complete() => !_queue.IsClosed && _queue.Complete([_terminal.EndOfFileCharacter()]);

    public bool Resize(TerminalSize size) => !_queue.IsClosed && _terminal.Resize(size);

    /// <summary>The job's tree is gone: whatever waits is dropped and the writer stops.</summary>
    public void Close() => _queue.Close();

    private void Run()
    {
        try
        {
            while (true)
            {
                if (_queue.TryPeek(out var pending))
                {
                    int written;
                    lock (_writeGate)
                    {
                        written = _terminal.Write(pending.Span, timeoutMs: 0);
                        _queue.Written(written);
                    }

                    if (written < 0)
                    {
                        return;
                    }

                    if (written == 0)
                    {
                        _terminal.WaitForRoom(PollMs);
                    }
                }
                else if (_queue.EndDue || _queue.IsDead)
                {
                    // After VEOF the terminal stays the job's: its output is still read, nothing more written.
                    return;
                }
                else
                {
                    _queue.WaitForWork();
                }
            }
        }
        finally
        {
            _queue.Close();
            _written.TrySetResult();
        }
    }
}
