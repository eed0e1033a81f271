using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Jobs.Bench.Floods;

/// <summary>
/// Connections to the gateway's port that never finish the TLS handshake: half send nothing at all, half
/// the first bytes of a ClientHello record and then nothing. Those the server closes are opened again, so
/// that as many are held for the whole flood; how long the server took to close them is kept.
/// </summary>
internal sealed class HalfOpenTls(int port, int sockets)
{
    // A TLS record header announcing a 512-byte handshake message, and the first bytes of a ClientHello.
    private static readonly byte[] PartialHello = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03];
    private readonly List<TimeSpan> _closedAfter = [];

    public Tally Calls { get; } = new();

    /// <summary>How long each connection the server closed had been open, in order.</summary>
    public IReadOnlyList<TimeSpan> ClosedAfter => [.. _closedAfter.Order()];

    public async Task RunAsync(CancellationToken until, CancellationToken cancellationToken)
    {
        var open = new List<(Socket Socket, TimeSpan Since)>();
        var clock = Stopwatch.StartNew();
        try
        {
            while (!until.IsCancellationRequested)
            {
                while (open.Count < sockets)
                {
                    if (await ConnectAsync(open.Count % 2 == 1, cancellationToken) is { } socket)
                    {
                        open.Add((socket, clock.Elapsed));
                    }
                    else
                    {
                        break;
                    }
                }

                await Task.Delay(TimeSpan.FromMilliseconds(500), until).ContinueWith(_ => { }, TaskScheduler.Default);
                for (int i = open.Count - 1; i >= 0; i--)
                {
                    if (IsClosed(open[i].Socket))
                    {
                        _closedAfter.Add(clock.Elapsed - open[i].Since);
                        Calls.Add("closed by the server");
                        open[i].Socket.Dispose();
                        open.RemoveAt(i);
                    }
                }
            }

            foreach (var _ in open)
            {
                Calls.Add("still open at the end");
            }
        }
        finally
        {
            foreach (var (socket, _) in open)
            {
                socket.Dispose();
            }
        }
    }

    private async Task<Socket?> ConnectAsync(bool hello, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
            if (hello)
            {
                await socket.SendAsync(PartialHello, SocketFlags.None, timeout.Token);
            }

            Calls.Add(hello ? "connected, partial ClientHello sent" : "connected, nothing sent");
            return socket;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Calls.Add(e is SocketException s ? $"connect failed: {s.SocketErrorCode}" : "connect timed out");
            socket.Dispose();
            return null;
        }
    }

    // Readable and nothing to read: the peer closed (or reset) the connection. What it sent before (a TLS alert) is read and dropped.
    private static bool IsClosed(Socket socket)
    {
        try
        {
            if (!socket.Poll(0, SelectMode.SelectRead))
            {
                return false;
            }

            var buffer = new byte[4096];
            int read = socket.Receive(buffer, SocketFlags.None, out SocketError error);
            return read == 0 || error != SocketError.Success;
        }
        catch (SocketException)
        {
            return true;
        }
    }
}
