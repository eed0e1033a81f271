using System.Net;
using System.Net.Sockets;

namespace Jobs.Bench;

/// <summary>Loopback ports nobody listens on, so the bench runs beside tests and a running server.</summary>
internal static class FreePorts
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
