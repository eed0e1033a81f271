using System.Net.Sockets;

namespace Jobs.Platform.Unix;

/// <summary>
/// A child's stdin as the server's end of a Unix stream socket pair (the child reads the other end
/// as fd 0). One pump writes the queue to the socket through the runtime's epoll engine, so a child
/// that does not read holds no thread, only at most <see cref="IChildInput.BufferLimit"/> bytes here
/// and what the kernel's socket buffers take.
/// </summary>
internal sealed class SocketInput : IUnixInput
{
    private readonly InputQueue _queue = new();
    private readonly Socket _socket;

    public SocketInput(int fd)
    {
        _socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
        Pumped = PumpAsync();
    }

    public bool IsTerminal => false;

    public bool IsClosed => _queue.IsClosed;

    /// <summary>Bytes taken and not yet in the kernel's socket buffer.</summary>
    internal int Waiting => _queue.Waiting;

    /// <summary>Completes once the pump has stopped: end of input written, or closed.</summary>
    internal Task Pumped { get; }

    public bool TryWrite(ReadOnlyMemory<byte> data) => _queue.TryWrite(data);

    public ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken) => _queue.WaitToWriteAsync(cancellationToken);

    public bool Complete() => _queue.Complete([]);

    public bool Resize(TerminalSize size) => false;

    /// <summary>The child's tree is gone: whatever waits is dropped and the socket closed (a pending send ends).</summary>
    public void Close()
    {
        _queue.Close();
        _socket.Dispose();
    }

    private async Task PumpAsync()
    {
        await Task.Yield();
        try
        {
            while (true)
            {
                if (_queue.TryPeek(out var pending))
                {
                    int sent = await _socket.SendAsync(pending, SocketFlags.None).ConfigureAwait(false);
                    _queue.Written(sent);
                }
                else if (_queue.EndDue)
                {
                    // The child reads end of file after the last byte; the socket closes below.
                    _socket.Shutdown(SocketShutdown.Send);
                    return;
                }
                else if (_queue.IsDead)
                {
                    return;
                }
                else
                {
                    await _queue.WaitForWorkAsync().ConfigureAwait(false);
                }
            }
        }
        catch (SocketException)
        {
            // The child closed its stdin (EPIPE, ECONNRESET), or Close aborted a send: nobody can read more.
        }
        catch (ObjectDisposedException)
        {
            // Closed while between sends.
        }
        finally
        {
            _queue.Close();
            _socket.Dispose();
        }
    }
}
