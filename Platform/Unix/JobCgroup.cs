using System.Globalization;

namespace Jobs.Platform.Unix;

/// <summary>
/// One job's cgroups: with cgroup v2 one folder; with cgroup v1 one folder in each hierarchy the
/// server uses, the <c>pids</c> one (which tracks the tree) first.
/// </summary>
internal sealed class JobCgroup
{
    private readonly Dictionary<string, string> _byController;

    /// <param name="folders">The job's folders, the tracking one first.</param>
    /// <param name="byController">The folder of each controller (cgroup v1); null with cgroup v2, where one folder holds them all.</param>
    public JobCgroup(IReadOnlyList<string> folders, Dictionary<string, string>? byController)
    {
        Folders = folders;
        V2 = byController is null;
        _byController = byController ?? new Dictionary<string, string>(StringComparer.Ordinal);
    }

    /// <summary>The job's folders, the tracking one first.</summary>
    public IReadOnlyList<string> Folders { get; }

    /// <summary>True with cgroup v2.</summary>
    public bool V2 { get; }

    /// <summary>The folder whose <c>cgroup.procs</c> lists every process of the job.</summary>
    public string Tracking => Folders[0];

    /// <summary>Where the folders go back to once emptied, for the next job; null to remove them.</summary>
    public Cgroups? Pool { get; set; }

    /// <summary>The launcher's cgroups, which retry the removal of folders that could not be removed now.</summary>
    public Cgroups? Owner { get; init; }

    /// <summary>What the tree used, read after its last process was gone and before the folders went; null until then, or when not read.</summary>
    public ChildUsage? FinalUsage { get; private set; }

    /// <summary>The folder of a controller, or null when the job has none for it.</summary>
    public string? Of(string controller) => V2 ? Tracking : _byController.GetValueOrDefault(controller);

    // The file that counts the job's OOM kills.
    private string? MemoryEvents => Of("memory") is { } memory ? Path.Combine(memory, V2 ? "memory.events" : "memory.oom_control") : null;

    /// <summary>The processes the kernel killed for going over a memory limit, the job's own or the node's budget (read before removal).</summary>
    public int OomKills() => MemoryEvents is { } events ? (int)(CgroupFiles.Field(events, "oom_kill ") ?? 0) : 0;

    /// <summary>What the tree uses now; figures this node cannot read are null.</summary>
    public ChildUsage Usage() => CgroupFiles.Usage(V2, Of("pids"), Of("memory"), V2 ? Tracking : Of("cpuacct"), Of(V2 ? "io" : "blkio"));

    /// <summary>
    /// Kills every process of the job until none is left, reads what it used, then removes every
    /// folder (or keeps them for the next job); true when the tracking folder was emptied (no
    /// process of the job is left). A folder that cannot be emptied or removed now is handed to
    /// <see cref="Owner"/> to retry.
    /// </summary>
    public async Task<bool> KillAndRemoveAsync(TimeSpan timeout)
    {
        bool gone = await Cgroups.EmptyAsync(Tracking, timeout).ConfigureAwait(false);
        var emptied = new List<string>();
        foreach (string folder in Folders)
        {
            if (folder == Tracking ? gone : await Cgroups.EmptyAsync(folder, timeout).ConfigureAwait(false))
            {
                emptied.Add(folder);
            }
            else
            {
                Owner?.RemoveLater(folder);
            }
        }

        if (gone)
        {
            try
            {
                FinalUsage = Usage().Final();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                // Left unknown.
            }
        }

        if (emptied.Count == Folders.Count && Pool is not null && Pool.TryKeep(this))
        {
            return gone;
        }

        foreach (string folder in emptied)
        {
            if (!Cgroups.TryDelete(folder))
            {
                Owner?.RemoveLater(folder);
            }
        }

        return gone;
    }
}

/// <summary>Reads the small files of cgroups: single numbers, and keyed lines.</summary>
internal static class CgroupFiles
{
    /// <summary>What the processes of these folders use (of a job, or of all jobs in the server's folders).</summary>
    public static ChildUsage Usage(bool v2, string? pids, string? memory, string? cpu, string? io) => new(
        CpuTime: cpu is null ? null : v2
            ? Field(Path.Combine(cpu, "cpu.stat"), "usage_usec ") is { } usec ? TimeSpan.FromMicroseconds(usec) : null
            : Number(Path.Combine(cpu, "cpuacct.usage")) is { } ns ? TimeSpan.FromTicks(ns / 100) : null,
        MemoryBytes: memory is null ? null : Number(Path.Combine(memory, v2 ? "memory.current" : "memory.usage_in_bytes")),
        MemoryPeakBytes: memory is null ? null : Number(Path.Combine(memory, v2 ? "memory.peak" : "memory.max_usage_in_bytes")),
        Tasks: pids is null ? null : Number(Path.Combine(pids, "pids.current")),
        IoReadBytes: io is null ? null : IoBytes(io, v2, read: true),
        IoWriteBytes: io is null ? null : IoBytes(io, v2, read: false));

    /// <summary>A file holding one number; null when it is missing or holds <c>max</c>.</summary>
    public static long? Number(string path)
    {
        Span<byte> buffer = stackalloc byte[64];
        int read;
        try
        {
            using var handle = File.OpenHandle(path);
            read = RandomAccess.Read(handle, buffer, 0);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        var text = buffer[..read].TrimEnd((byte)'\n');
        return System.Buffers.Text.Utf8Parser.TryParse(text, out long value, out int used) && used == text.Length ? value : null;
    }

    /// <summary>The number after <paramref name="key"/> (which ends with its separator) on a line of a keyed file, such as <c>oom_kill 2</c>.</summary>
    public static long? Field(string path, string key)
    {
        try
        {
            foreach (string line in File.ReadLines(path))
            {
                if (line.StartsWith(key, StringComparison.Ordinal) && long.TryParse(line.AsSpan(key.Length), NumberStyles.None, CultureInfo.InvariantCulture, out long value))
                {
                    return value;
                }
            }
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            // Not offered here, or gone.
        }

        return null;
    }

    // cgroup v2 io.stat: "8:0 rbytes=N wbytes=N rios=..."; v1 blkio.throttle.io_service_bytes:
    // "8:0 Read N", "8:0 Write N", ..., "Total N". Summed over devices.
    private static long? IoBytes(string folder, bool v2, bool read)
    {
        string path = Path.Combine(folder, v2 ? "io.stat" : "blkio.throttle.io_service_bytes");
        string key = v2 ? (read ? "rbytes=" : "wbytes=") : (read ? " Read " : " Write ");
        long sum = 0;
        try
        {
            foreach (string line in File.ReadLines(path))
            {
                foreach (string word in v2 ? line.Split(' ') : [line])
                {
                    int at = word.IndexOf(key, StringComparison.Ordinal);
                    if (at >= 0 && long.TryParse(word.AsSpan(at + key.Length), NumberStyles.None, CultureInfo.InvariantCulture, out long bytes))
                    {
                        sum += bytes;
                    }
                }
            }
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        return sum;
    }
}
