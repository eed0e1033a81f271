using System.Net;
using System.Net.Sockets;

namespace Jobs.EndToEnd.Tests;

/// <summary>Loopback ports nobody listens on, so tests run beside each other and beside a running server.</summary>
public static class FreePorts
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
