using System.Runtime.Versioning;
using Microsoft.Win32.SafeHandles;

namespace Jobs.Platform.Windows;

/// <summary>
/// The child's stdin as the write end of a pipe: the child's own stdin pipe, or the input pipe of
/// its pseudoconsole. Taken bytes wait in a queue of at most <see cref="IChildInput.BufferLimit"/>
/// bytes; one thread writes them in order.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed class PipeInput : IChildInput
{
    // What a person types to end a console program's input: Ctrl+Z at the start of a line, then
    // Enter. ReadFile on a console returns 0 bytes (end of file) for it, on Windows and under Wine.
    private static readonly byte[] ConsoleEndOfFile = [0x1A, (byte)'\r'];

    private readonly Lock _gate = new();
    private readonly Queue<byte[]> _queue = new();
    private readonly SemaphoreSlim _work = new(0);
    private readonly FileStream _pipe;
    private readonly PseudoConsole? _console;
    private TaskCompletionSource<bool>? _room;
    private int _waiting;
    private bool _completed;
    private bool _endWritten;
    private bool _closed;

    /// <param name="write">The write end of the pipe; this input owns it.</param>
    /// <param name="console">The pseudoconsole the pipe feeds, for a terminal; null for a plain pipe.</param>
    public PipeInput(nint write, PseudoConsole? console)
    {
        _pipe = new FileStream(new SafeFileHandle(write, ownsHandle: true), FileAccess.Write, bufferSize: 0, isAsync: false);
        _console = console;

        // Anonymous pipes cannot be written asynchronously: a write to a child that does not read
        // blocks, so it blocks a thread of this input's own, never one of the pool's. A background
        // thread: a write stuck forever (a reader that neither reads nor exits) never holds the
        // server up at exit.
        new Thread(Pump) { IsBackground = true, Name = "jobs child stdin" }.Start();
    }

    public bool IsTerminal => _console is not null;

    public bool IsClosed
    {
        get
        {
            lock (_gate)
            {
                return _completed || _closed;
            }
        }
    }

    public bool TryWrite(ReadOnlyMemory<byte> data)
    {
        lock (_gate)
        {
            // Whole or not at all, and never beyond the limit (but a piece may always go alone, so a
            // piece larger than the limit cannot wait forever).
            if (_completed || _closed || (_waiting > 0 && _waiting + data.Length > IChildInput.BufferLimit))
            {
                return false;
            }

            if (data.IsEmpty)
            {
                return true;
            }

            _queue.Enqueue(data.ToArray());
            _waiting += data.Length;
        }

        _work.Release();
        return true;
    }

    public ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken)
    {
        Task<bool> room;
        lock (_gate)
        {
            if (_completed || _closed)
            {
                return ValueTask.FromResult(false);
            }

            // Room is an empty queue: then any piece fits, so a caller whose piece did not fit never
            // spins between a refusal and a wait that completes at once.
            if (_waiting == 0)
            {
                return ValueTask.FromResult(true);
            }

            _room ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            room = _room.Task;
        }

        return new ValueTask<bool>(room.WaitAsync(cancellationToken));
    }

    public bool Complete()
    {
        lock (_gate)
        {
            if (_completed || _closed)
            {
                return false;
            }

            _completed = true;
            WakeWriters(false);
        }

        _work.Release();
        return true;
    }

    public bool Resize(TerminalSize size)
    {
        if (_console is null || IsClosed || !size.IsValid)
        {
            return false;
        }

        return _console.Resize(size);
    }

    /// <summary>
    /// Types Ctrl+C on a terminal, after what waits, even past the limit or after the end of input:
    /// the console turns it into CTRL_C_EVENT for the programs on it, as a person's key would.
    /// False when not a terminal or closed.
    /// </summary>
    internal bool Interrupt()
    {
        lock (_gate)
        {
            if (_console is null || _closed)
            {
                return false;
            }

            _queue.Enqueue([0x03]);
            _waiting++;
        }

        _work.Release();
        return true;
    }

    /// <summary>The child has ended (or its stdin is gone): nothing more is taken, and what waits is dropped.</summary>
    internal void Close()
    {
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            _queue.Clear();
            _waiting = 0;
            WakeWriters(false);
        }

        _work.Release();
    }

    // Under the gate.
    private void WakeWriters(bool room)
    {
        _room?.TrySetResult(room);
        _room = null;
    }

    private void Pump()
    {
        try
        {
            while (true)
            {
                _work.Wait();
                byte[]? next;
                bool end;
                lock (_gate)
                {
                    if (_closed)
                    {
                        return;
                    }

                    _queue.TryDequeue(out next);
                    end = next is null && _completed && !_endWritten;
                    _endWritten |= end;
                }

                if (next is not null)
                {
                    _pipe.Write(next);
                    lock (_gate)
                    {
                        // Counted until written: bytes in a write the child does not take still wait here.
                        _waiting = _closed ? 0 : _waiting - next.Length;
                        if (_waiting == 0)
                        {
                            WakeWriters(!_completed && !_closed);
                        }
                    }
                }
                else if (end)
                {
                    if (_console is not null)
                    {
                        // Closing a console's input would hang it up, ending the job: a terminal's end
                        // of input is what a person types, and the pipe stays open (for Ctrl+C).
                        _pipe.Write(ConsoleEndOfFile);
                        continue;
                    }

                    _pipe.Dispose();
                    return;
                }
            }
        }
        catch (IOException)
        {
            // ERROR_NO_DATA or ERROR_BROKEN_PIPE: the child closed its stdin or is gone.
            Close();
        }
        catch (ObjectDisposedException)
        {
            Close();
        }
    }

    /// <summary>At the child's end: closes the input and the pipe (a terminal's stays open until then).</summary>
    internal void Release()
    {
        Close();
        // The pump may still be in a write to a pipe whose reader is gone: the handle is counted while
        // a call uses it, so it is closed once that write has failed, never under it.
        _pipe.Dispose();
    }
}
