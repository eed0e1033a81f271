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

    /// <summary>Completes once the writer has stopped: end of input written, or closed.</summary>
    internal Task Written => _written.Task;

    public bool TryWrite(ReadOnlyMemory<byte> data) => _queue.TryWrite(data);

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
                    int written = _terminal.Write(pending.Span, PollMs);
                    if (written < 0)
                    {
                        return;
                    }

                    _queue.Written(written);
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
