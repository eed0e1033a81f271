using System.Diagnostics;

namespace Jobs.Platform.Unix;

// The reader of a job's pseudo-terminal, which replaces its two output sockets.
internal sealed partial class UnixChild
{
    // How long one wait for output may block before the reader looks whether it must stop (the
    // drain's budget, a consumer that stopped reading); output itself wakes it at once.
    private const int TerminalPollMs = 200;

    // A thread of its own: the master is a character device, which the runtime's epoll engine does
    // not watch (only sockets), and a read blocking a pool thread per terminal would starve the pool.
    // Interactive jobs are few; a thread each costs little. Same rules as the sockets' readers:
    // every byte read is handed over, unbounded while the tree may be alive or is proved gone, and
    // within DrainAfterExit of waiting once only an escaped descendant could hold the slave.
    private Task ReadTerminal(PseudoTerminal terminal)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        new Thread(() =>
        {
            try
            {
                ReadTerminalUntilEnd(terminal);
            }
            finally
            {
                done.TrySetResult();
            }
        })
        { IsBackground = true, Name = "jobs-terminal-output" }.Start();
        return done.Task;
    }

    private void ReadTerminalUntilEnd(PseudoTerminal terminal)
    {
        var buffer = new byte[ReadSize];
        var drainLeft = DrainAfterExit;
        try
        {
            while (!_abandon.IsCancellationRequested)
            {
                bool draining = _drain.IsCancellationRequested;
                long started = Stopwatch.GetTimestamp();
                int read = terminal.Read(buffer, TerminalPollMs);
                if (read < 0)
                {
                    // EIO: every descriptor of the slave is closed, and what they wrote has been read.
                    return;
                }

                if (read == 0)
                {
                    if (draining)
                    {
                        drainLeft -= Stopwatch.GetElapsedTime(started);
                        if (drainLeft <= TimeSpan.Zero)
                        {
                            return;
                        }
                    }

                    continue;
                }

                // A terminal gives at most its line discipline's buffer (4 KiB) a read: what is there
                // already joins it, so that a fast writer's output goes over in chunks of up to 64 KiB,
                // as from a socket (8 MiB of cat: 141 chunks instead of 2,064, each one record, spool
                // frame and channel hand-over fewer downstream). A key alone still goes at once.
                bool ended = false;
                while (read < buffer.Length)
                {
                    int more = terminal.Read(buffer.AsSpan(read), timeoutMs: 0);
                    ended = more < 0;
                    if (more <= 0)
                    {
                        break;
                    }

                    read += more;
                }

                // Blocking this thread (its own) while the consumer catches up, as the sockets' readers await.
                var chunk = new ChildOutput(ChildStream.Stdout, buffer.AsSpan(0, read).ToArray());
                if (!_output.Writer.TryWrite(chunk))
                {
                    _output.Writer.WriteAsync(chunk, _abandon.Token).AsTask().GetAwaiter().GetResult();
                }

                Interlocked.Add(ref _handedOver, read);
                if (ended)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Nobody consumes output any more.
        }
        catch (ObjectDisposedException)
        {
            // The consumer-gone token went with the child's end.
        }
    }
}
