using System.Globalization;

namespace Jobs.Platform.Unix;

/// <summary>CPU time from <c>/proc/stat</c> and memory from <c>/proc/meminfo</c>, parsed in place from one reused buffer.</summary>
internal sealed class LinuxMachineCounters : IMachineCounters
{
    // The figures needed are on the first lines of both files; the rest of /proc/stat (a line per
    // core, every interrupt) can be long and is not read.
    private readonly byte[] _buffer = new byte[4096];

    public bool TryReadCpu(out CpuTimes times)
    {
        times = default;
        int length = Read("/proc/stat", _buffer);
        return length > 0 && TryParseStat(_buffer.AsSpan(0, length), out times);
    }

    public bool TryReadMemory(out long usedBytes, out long totalBytes)
    {
        usedBytes = totalBytes = 0;
        int length = Read("/proc/meminfo", _buffer);
        return length > 0 && TryParseMemInfo(_buffer.AsSpan(0, length), out usedBytes, out totalBytes);
    }

    /// <summary>The first line of <c>/proc/stat</c>, "cpu  user nice system idle iowait irq softirq steal guest guest_nice", in clock ticks.</summary>
    internal static bool TryParseStat(ReadOnlySpan<byte> stat, out CpuTimes times)
    {
        times = default;
        int end = stat.IndexOf((byte)'\n');
        if (end < 0 || !stat.StartsWith("cpu "u8))
        {
            return false;
        }

        // Only the first eight fields: the kernel counts guest time in user and nice already.
        var rest = stat[4..end];
        long total = 0;
        long idle = 0;
        int fields = 0;
        for (; fields < 8; fields++)
        {
            rest = rest.TrimStart((byte)' ');
            if (rest.IsEmpty)
            {
                break;
            }

            int space = rest.IndexOf((byte)' ');
            var number = space < 0 ? rest : rest[..space];
            if (!long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out long ticks))
            {
                return false;
            }

            total += ticks;
            if (fields is 3 or 4)
            {
                // Waiting for I/O is idle time: the CPU could have run something else.
                idle += ticks;
            }

            rest = space < 0 ? default : rest[space..];
        }

        if (fields < 4)
        {
            return false;
        }

        times = new CpuTimes(total - idle, total);
        return true;
    }

    /// <summary>MemTotal and MemAvailable of <c>/proc/meminfo</c> (in KiB there): used is total less available.</summary>
    internal static bool TryParseMemInfo(ReadOnlySpan<byte> meminfo, out long usedBytes, out long totalBytes)
    {
        usedBytes = totalBytes = 0;
        long total = -1;
        long available = -1;
        while (!meminfo.IsEmpty && (total < 0 || available < 0))
        {
            int end = meminfo.IndexOf((byte)'\n');
            var line = end < 0 ? meminfo : meminfo[..end];
            meminfo = end < 0 ? default : meminfo[(end + 1)..];
            if (line.StartsWith("MemTotal:"u8))
            {
                total = Kibibytes(line["MemTotal:".Length..]);
            }
            else if (line.StartsWith("MemAvailable:"u8))
            {
                available = Kibibytes(line["MemAvailable:".Length..]);
            }
        }

        // MemAvailable exists since Linux 3.14; without it there is no honest figure for used.
        if (total <= 0 || available < 0)
        {
            return false;
        }

        totalBytes = total * 1024;
        usedBytes = Math.Max(0, total - available) * 1024;
        return true;
    }

    // "      16303424 kB" to 16303424, or -1.
    private static long Kibibytes(ReadOnlySpan<byte> value)
    {
        value = value.Trim((byte)' ');
        if (value.EndsWith(" kB"u8))
        {
            value = value[..^3];
        }

        return long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long kib) ? kib : -1;
    }

    private static int Read(string path, byte[] buffer)
    {
        try
        {
            // procfs files have no size; read until the end or until the buffer is full.
            using var file = File.OpenHandle(path);
            int length = 0;
            int read;
            while (length < buffer.Length && (read = RandomAccess.Read(file, buffer.AsSpan(length), length)) > 0)
            {
                length += read;
            }

            return length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
