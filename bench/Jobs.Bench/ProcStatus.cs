using System.Globalization;

namespace Jobs.Bench;

/// <summary>What the bench reads about processes from /proc (Linux).</summary>
internal static class ProcStatus
{
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

    /// <summary>User plus system CPU time the process itself used (not its children), or zero when it is gone.</summary>
    public static TimeSpan CpuTime(int pid)
    {
        try
        {
            // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15 (clock ticks).
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / (double)ClockTicksPerSecond);
        }
        catch (IOException)
        {
            return TimeSpan.Zero;
        }
    }

    // sysconf(_SC_CLK_TCK): 100 on every Linux the runtime supports.
    private const int ClockTicksPerSecond = 100;

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

    private static long Kib(string line)
    {
        var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long value) ? value : -1;
    }
}
