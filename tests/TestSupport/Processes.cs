using System.Globalization;

namespace Jobs.TestSupport;

/// <summary>What tests and the bench read about processes from /proc (Linux).</summary>
public static class Processes
{
    // sysconf(_SC_CLK_TCK): 100 on every Linux the runtime supports.
    private const int ClockTicksPerSecond = 100;

    /// <summary>True while the process exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            char state = stat[(stat.LastIndexOf(')') + 2)..][0];
            return state is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Waits until the process is gone; false if it is still alive after <paramref name="timeout"/>.</summary>
    public static async Task<bool> WaitGoneAsync(int pid, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (IsAlive(pid))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    /// <summary>Reads a pid a test child wrote to a file, waiting for the file to appear.</summary>
    public static async Task<int> ReadPidFileAsync(string path, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            // A shell's "echo $! > FILE" creates the file before it writes: empty is not yet written.
            if (File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture, out int pid))
            {
                return pid;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no pid in a file at {path}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Kills a process by pid if it still exists; for cleaning up after a failed test.</summary>
    public static void KillIfAlive(int pid)
    {
        if (!IsAlive(pid))
        {
            return;
        }

        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            process.Kill();
        }
        catch (ArgumentException)
        {
            // gone meanwhile
        }
        catch (InvalidOperationException)
        {
            // gone meanwhile
        }
    }

    /// <summary>VmRSS and VmHWM in KiB, or null when the process is gone.</summary>
    public static (long RssKiB, long HwmKiB)? Memory(int pid)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines($"/proc/{pid}/status");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        long rss = -1, hwm = -1;
        foreach (string line in lines)
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kib(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                hwm = Kib(line);
            }
        }

        return rss < 0 ? null : (rss, hwm);
    }

    /// <summary>Open file descriptors of a process (entries of /proc/PID/fd); 0 when it is gone.</summary>
    public static int OpenFiles(int pid)
    {
        try
        {
            return Directory.GetFiles($"/proc/{pid}/fd").Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>User plus system CPU time the process itself used (not its children), or zero when it is gone.</summary>
    public static TimeSpan CpuTime(int pid) => CpuTime(pid, userField: 14);

    /// <summary>User plus system CPU time of the children the process has waited for, or zero when it is gone.</summary>
    public static TimeSpan ReapedChildrenCpuTime(int pid) => CpuTime(pid, userField: 16);

    // The field of /proc/PID/stat (numbered from 1, as proc(5) does) with the user time, plus the
    // system time that follows it: utime 14 and stime 15, or cutime 16 and cstime 17 (clock ticks).
    private static TimeSpan CpuTime(int pid, int userField)
    {
        try
        {
            // Fields after the command's closing parenthesis, state (field 3) first.
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long ticks = long.Parse(fields[userField - 3], CultureInfo.InvariantCulture) + long.Parse(fields[userField - 2], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / (double)ClockTicksPerSecond);
        }
        catch (IOException)
        {
            return TimeSpan.Zero;
        }
    }

    /// <summary>True while the process exists, is not a zombie and its command line starts with <paramref name="argv"/>.</summary>
    public static bool IsAliveRunning(int pid, IReadOnlyList<string> argv)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            char state = stat[(stat.LastIndexOf(')') + 2)..][0];
            if (state is 'Z' or 'X')
            {
                return false;
            }

            string[] cmdline = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
            return cmdline.Length >= argv.Count && argv.Select((a, i) => a == cmdline[i]).All(same => same);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The processes whose parent is <paramref name="pid"/> now, with their command lines.</summary>
    public static IReadOnlyList<(int Pid, string CommandLine)> ChildrenOf(int pid)
    {
        var children = new List<(int, string)>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int child) && Describe(child) is { Ppid: var parent } && parent == pid)
            {
                children.Add((child, CommandLine(child)));
            }
        }

        return children;
    }

    /// <summary>State (R, S, Z...) and parent of a process, or null when it is gone.</summary>
    public static (char State, int Ppid)? Describe(int pid)
    {
        try
        {
            // Fields after the command's closing parenthesis: state, then the parent's pid.
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (fields[0][0], int.Parse(fields[1], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>A process's state, parent, cgroups and command line in one line, for a report about a process that should be gone.</summary>
    public static string Explain(int pid)
    {
        if (Describe(pid) is not { } process)
        {
            return $"pid {pid} gone";
        }

        string cgroups;
        try
        {
            cgroups = string.Join(" ", File.ReadAllLines($"/proc/{pid}/cgroup").Select(line => line[(line.IndexOf(':') + 1)..]).Where(line => line.Contains("jobs", StringComparison.Ordinal)));
        }
        catch (IOException)
        {
            cgroups = "";
        }

        return $"pid {pid} state {process.State} parent {process.Ppid}, cgroups [{(cgroups.Length == 0 ? "none named jobs" : cgroups)}]: {CommandLine(pid)}";
    }

    /// <summary>A process's command line, its arguments joined by spaces; empty when it is gone.</summary>
    public static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static long Kib(string line)
    {
        var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long value) ? value : -1;
    }

    /// <summary><paramref name="root"/> and every process below it now (children, their children...), root first.</summary>
    public static IReadOnlyList<int> WithDescendants(int root)
    {
        var parents = new Dictionary<int, List<int>>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
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
                // The process ended while being read.
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
