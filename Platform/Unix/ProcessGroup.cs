using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Jobs.Platform.Unix;

/// <summary>Signals and watches a process group: every process a job starts stays in it unless it leaves on purpose.</summary>
internal static class ProcessGroup
{
    /// <summary>Sends a signal to every process of the group; false when the group no longer exists.</summary>
    public static bool Signal(int processGroup, int signal) => LibC.kill(-processGroup, signal) == 0;

    /// <summary>Waits until no process of the group is alive (zombies waiting to be reaped do not count).</summary>
    public static async Task<bool> WaitGoneAsync(int processGroup, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        var delay = TimeSpan.FromMilliseconds(1);
        while (HasLiveMembers(processGroup))
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 50));
        }

        return true;
    }

    /// <summary>True when some process of the group is alive, read from <c>/proc/PID/stat</c>.</summary>
    public static bool HasLiveMembers(int processGroup)
    {
        Span<byte> buffer = stackalloc byte[512];
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            ReadOnlySpan<char> name = Path.GetFileName(dir.AsSpan());
            if (name.IsEmpty || !char.IsAsciiDigit(name[0]))
            {
                continue;
            }

            int length;
            try
            {
                using SafeFileHandle handle = File.OpenHandle(dir + "/stat");
                length = RandomAccess.Read(handle, buffer, 0);
            }
            catch (IOException)
            {
                continue; // exited while we looked
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            if (TryParseStat(buffer[..length], out char state, out int group) && group == processGroup && state is not ('Z' or 'X' or 'x'))
            {
                return true;
            }
        }

        return false;
    }

    // "pid (comm) S ppid pgrp ...": comm may hold spaces and parentheses, so parse after the last ')'.
    private static bool TryParseStat(ReadOnlySpan<byte> stat, out char state, out int group)
    {
        state = '?';
        group = 0;
        int close = stat.LastIndexOf((byte)')');
        if (close < 0 || close + 2 >= stat.Length)
        {
            return false;
        }

        var rest = Encoding.ASCII.GetString(stat[(close + 2)..]).Split(' ', 4);
        if (rest.Length < 3 || rest[0].Length != 1)
        {
            return false;
        }

        state = rest[0][0];
        return int.TryParse(rest[2], out group);
    }
}
