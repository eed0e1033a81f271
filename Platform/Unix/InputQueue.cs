namespace Jobs.Platform.Unix;

/// <summary>
/// The bytes taken for a child's stdin that its writer (a socket's pump, a terminal's thread) has not
/// written yet: at most <see cref="IChildInput.BufferLimit"/> of them, in the order taken. The
/// callers' side (<see cref="TryWrite"/>, <see cref="WaitToWriteAsync"/>, <see cref="Complete"/>)
/// may be on any thread; one writer takes the bytes out (<see cref="TryPeek"/>, <see cref="Written"/>).
/// </summary>
internal sealed class InputQueue
{
    private readonly Lock _gate = new();
    private readonly Queue<byte[]> _pieces = new();

    // Released whenever the writer may have something to do; it re-checks, so extra releases are harmless.
    private readonly SemaphoreSlim _work = new(0);
    private int _headWritten;
    private int _waiting;

    // Free bytes a waiter needs: the size of the piece refused last, so that a caller woken by
    // WaitToWriteAsync finds its piece fits instead of spinning on refusals.
    private int _wanted = 1;
    private bool _ending;
    private bool _closed;
    private TaskCompletionSource<bool>? _room;

    /// <summary>Bytes taken and not yet written (the head piece's written part excluded).</summary>
    public int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _waiting;
            }
        }
    }

    /// <summary>End of input was asked for, or the queue was closed: nothing more is taken.</summary>
    public bool IsClosed
    {
        get
        {
            lock (_gate)
            {
                return _ending || _closed;
            }
        }
    }

    /// <summary>For the writer: the queue was closed; it has nothing more to write.</summary>
    public bool IsDead
    {
        get
        {
            lock (_gate)
            {
                return _closed;
            }
        }
    }

    /// <summary>For the writer: end of input was asked for and everything before it is written.</summary>
    public bool EndDue
    {
        get
        {
            lock (_gate)
            {
                return _ending && !_closed && _pieces.Count == 0;
            }
        }
    }

    public bool TryWrite(ReadOnlyMemory<byte> data)
    {
        lock (_gate)
        {
            if (_ending || _closed)
            {
                return false;
            }

            if (data.IsEmpty)
            {
                return true;
            }

            // A piece larger than the whole limit is taken only into an empty queue, so that it can
            // ever be taken at all (the gateway's pieces are at most the limit).
            if (_waiting > 0 && _waiting + data.Length > IChildInput.BufferLimit)
            {
                _wanted = Math.Min(data.Length, IChildInput.BufferLimit);
                return false;
            }

            _pieces.Enqueue(data.ToArray());
            _waiting += data.Length;
            _wanted = 1;
        }

        Wake();
        return true;
    }

    public ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken)
    {
        Task<bool> room;
        lock (_gate)
        {
            if (_ending || _closed)
            {
                return ValueTask.FromResult(false);
            }

            if (HasRoom())
            {
                return ValueTask.FromResult(true);
            }

            _room ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            room = _room.Task;
        }

        return new ValueTask<bool>(room.WaitAsync(cancellationToken));
    }

    /// <summary>Asks for end of input after what was taken, and after <paramref name="last"/> (a terminal's VEOF); false when already closed.</summary>
    public bool Complete(ReadOnlySpan<byte> last)
    {
        TaskCompletionSource<bool>? room;
        lock (_gate)
        {
            if (_ending || _closed)
            {
                return false;
            }

            if (!last.IsEmpty)
            {
                _pieces.Enqueue(last.ToArray());
                _waiting += last.Length;
            }

            _ending = true;
            room = _room;
            _room = null;
        }

        room?.TrySetResult(false);
        Wake();
        return true;
    }

    /// <summary>Nothing more is taken or written; what waits is dropped (the child is gone, or cannot read any more).</summary>
    public void Close()
    {
        TaskCompletionSource<bool>? room;
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            _pieces.Clear();
            _waiting = 0;
            _headWritten = 0;
            room = _room;
            _room = null;
        }

        room?.TrySetResult(false);
        Wake();
    }

    /// <summary>For the writer: the unwritten part of the oldest piece; false when none waits.</summary>
    public bool TryPeek(out ReadOnlyMemory<byte> pending)
    {
        lock (_gate)
        {
            if (_closed || !_pieces.TryPeek(out byte[]? head))
            {
                pending = default;
                return false;
            }

            pending = head.AsMemory(_headWritten);
            return true;
        }
    }

    /// <summary>For the writer: <paramref name="count"/> bytes of the oldest piece reached the kernel.</summary>
    public void Written(int count)
    {
        TaskCompletionSource<bool>? room = null;
        lock (_gate)
        {
            if (_closed || count <= 0)
            {
                return;
            }

            _headWritten += count;
            _waiting -= count;
            if (_headWritten >= _pieces.Peek().Length)
            {
                _pieces.Dequeue();
                _headWritten = 0;
            }

            if (_room is not null && HasRoom())
            {
                room = _room;
                _room = null;
            }
        }

        room?.TrySetResult(true);
    }

    /// <summary>For the writer: waits until something may have changed (a piece taken, end asked for, closed).</summary>
    public Task WaitForWorkAsync() => _work.WaitAsync();

    /// <summary>For a writer on a thread of its own: as <see cref="WaitForWorkAsync"/>, blocking.</summary>
    public void WaitForWork() => _work.Wait();

    // One release is enough to wake the writer, which then looks at everything: a count that grew
    // with every piece would only make it loop for nothing.
    private void Wake()
    {
        if (_work.CurrentCount == 0)
        {
            _work.Release();
        }
    }

    private bool HasRoom() => _waiting == 0 || IChildInput.BufferLimit - _waiting >= _wanted;
}
