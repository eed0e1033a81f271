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
        foreach (int process in WithDescendants(pid))
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

    private static List<int> WithDescendants(int root)
    {
        var parents = new Dictionary<int, List<int>>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
            {
                continue;
            }

            try
            {
                // The parent pid is the second field after the parenthesised command name.
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                int ppid = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
                if (!parents.TryGetValue(ppid, out var children))
                {
                    parents[ppid] = children = [];
                }

                children.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        var all = new List<int> { root };
        for (int i = 0; i < all.Count; i++)
        {
            all.AddRange(parents.GetValueOrDefault(all[i]) ?? []);
        }

        return all;
    }
}
