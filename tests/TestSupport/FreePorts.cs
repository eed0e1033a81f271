using System.Net;
using System.Net.Sockets;

namespace Jobs.TestSupport;

/// <summary>
/// Loopback ports nobody listens on now. The kernel may hand the same ephemeral port to two
/// binds in a row, and a test or a bench scenario asks for several before any server binds them, so a port is never
/// given out twice in one process.
/// </summary>
public static class FreePorts
{
    private static readonly HashSet<int> Given = [];

    public static int Next()
    {
        lock (Given)
        {
            while (true)
            {
                using var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                int port = ((IPEndPoint)listener.LocalEndpoint).Port;
                if (Given.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
