using System.Buffers;
using System.Buffers.Text;

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
    public int OomKills() => MemoryEvents is { } events ? (int)(CgroupFiles.Field(events, "oom_kill "u8) ?? 0) : 0;

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
    public static ChildUsage Usage(bool v2, string? pids, string? memory, string? cpu, string? io)
    {
        var (read, written) = io is null ? (null, null) : IoBytes(io, v2);
        return new(
            CpuTime: cpu is null ? null : v2
                ? Field(Path.Combine(cpu, "cpu.stat"), "usage_usec "u8) is { } usec ? TimeSpan.FromMicroseconds(usec) : null
                : Number(Path.Combine(cpu, "cpuacct.usage")) is { } ns ? TimeSpan.FromTicks(ns / 100) : null,
            MemoryBytes: memory is null ? null : Number(Path.Combine(memory, v2 ? "memory.current" : "memory.usage_in_bytes")),
            MemoryPeakBytes: memory is null ? null : Number(Path.Combine(memory, v2 ? "memory.peak" : "memory.max_usage_in_bytes")),
            Tasks: pids is null ? null : Number(Path.Combine(pids, "pids.current")),
            IoReadBytes: read,
            IoWriteBytes: written);
    }

    /// <summary>A file holding one number; null when it is missing or holds <c>max</c>.</summary>
    public static long? Number(string path)
    {
        Span<byte> buffer = stackalloc byte[64];
        if (Read(path, buffer) is not { } read)
        {
            return null;
        }

        var text = buffer[..read].TrimEnd((byte)'\n');
        return Utf8Parser.TryParse(text, out long value, out int used) && used == text.Length ? value : null;
    }

    /// <summary>The number after <paramref name="key"/> (which ends with its separator) at the start of a line of a keyed file, such as <c>oom_kill 2</c>.</summary>
    public static long? Field(string path, ReadOnlySpan<byte> key)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            if (Read(path, buffer) is not { } read)
            {
                return null;
            }

            foreach (var line in Lines(buffer.AsSpan(0, read)))
            {
                if (line.StartsWith(key) && Utf8Parser.TryParse(line[key.Length..], out long value, out _))
                {
                    return value;
                }
            }

            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // Bytes read and written, summed over devices, from one read of cgroup v2 io.stat ("8:0 rbytes=N
    // wbytes=N rios=...") or v1 blkio.throttle.io_service_bytes ("8:0 Read N", "8:0 Write N", ..., "Total N").
    private static (long? Read, long? Written) IoBytes(string folder, bool v2)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(16384);
        try
        {
            if (Read(Path.Combine(folder, v2 ? "io.stat" : "blkio.throttle.io_service_bytes"), buffer) is not { } length)
            {
                return (null, null);
            }

            ReadOnlySpan<byte> readKey = v2 ? "rbytes="u8 : " Read "u8;
            ReadOnlySpan<byte> writeKey = v2 ? "wbytes="u8 : " Write "u8;
            long read = 0, written = 0;
            foreach (var line in Lines(buffer.AsSpan(0, length)))
            {
                read += After(line, readKey);
                written += After(line, writeKey);
            }

            return (read, written);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static long After(ReadOnlySpan<byte> line, ReadOnlySpan<byte> key)
    {
        int at = line.IndexOf(key);
        return at >= 0 && Utf8Parser.TryParse(line[(at + key.Length)..], out long value, out _) ? value : 0;
    }

    // One read of a small kernel file (cgroup files answer whole in one read); null when it is missing.
    private static int? Read(string path, Span<byte> buffer)
    {
        try
        {
            using var handle = File.OpenHandle(path);
            return RandomAccess.Read(handle, buffer, 0);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private static SpanLines Lines(ReadOnlySpan<byte> text) => new(text);

    private ref struct SpanLines(ReadOnlySpan<byte> text)
    {
        private ReadOnlySpan<byte> _rest = text;

        public ReadOnlySpan<byte> Current { get; private set; }

        public readonly SpanLines GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_rest.IsEmpty)
            {
                return false;
            }

            int end = _rest.IndexOf((byte)'\n');
            Current = end < 0 ? _rest : _rest[..end];
            _rest = end < 0 ? [] : _rest[(end + 1)..];
            return true;
        }
    }
}
