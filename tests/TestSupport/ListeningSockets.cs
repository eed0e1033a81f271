using System.Globalization;

namespace Jobs.TestSupport;

/// <summary>The TCP ports a process and its descendants listen on, read from <c>/proc</c> as <c>ss -ltnp</c> would.</summary>
public static class ListeningSockets
{
    private const string Listen = "0A";

    /// <summary>Listening TCP ports (IPv4 and IPv6) whose sockets <paramref name="pid"/> or any of its descendants hold.</summary>
    public static IReadOnlySet<int> PortsOf(int pid)
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (int process in Processes.WithDescendants(pid))
        {
            try
            {
                foreach (string fd in Directory.EnumerateFileSystemEntries($"/proc/{process}/fd"))
                {
                    string? target = new FileInfo(fd).LinkTarget;
                    if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal))
                    {
                        inodes.Add(target["socket:[".Length..^1]);
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process ended while being read.
            }
        }

        var ports = new HashSet<int>();
        foreach (string table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            foreach (string line in File.ReadLines(table).Skip(1))
            {
                string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 9 && fields[3] == Listen && inodes.Contains(fields[9]))
                {
                    ports.Add(int.Parse(fields[1][(fields[1].LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                }
            }
        }

        return ports;
    }
}
