using System.Collections.Concurrent;
using System.Globalization;

namespace Jobs.Platform.Unix;

/// <summary>
/// A cgroup per job, under <c>jobs/server-PID-N/</c>. With cgroup v2 that is one folder holding
/// every controller; with cgroup v1 the job's folder in the <c>pids</c> hierarchy tracks the tree
/// and, for each limit asked for, a folder of the same name in the <c>memory</c>, <c>cpu</c> or
/// <c>blkio</c> hierarchy holds it. Membership is inherited by every descendant and cannot be left
/// without root, so a job's whole tree can be found, killed and waited for, including processes
/// that left its process group or session.
/// </summary>
internal sealed class Cgroups
{
    // Empty tracking folders of ended jobs without limits, kept for the next such job: mkdir and
    // rmdir of a cgroup take the kernel's cgroup lock, and cost more than the start of /bin/true.
    private const int MaxIdle = 64;

    private static int s_instances;
    private readonly ConcurrentStack<string> _idle = new();
    private readonly string _serverFolder;
    private readonly Dictionary<string, string> _v1 = new(StringComparer.Ordinal);
    private readonly HashSet<string> _v2Controllers = new(StringComparer.Ordinal);

    // Folders of ended jobs that could not be emptied or removed in time (a member stuck in the
    // kernel, a folder made inside the job's): retried until they go, never forgotten.
    private readonly ConcurrentDictionary<string, byte> _stuck = new(StringComparer.Ordinal);
    private readonly Lock _retryGate = new();
    private Timer? _retry;
    private long _next;

    private Cgroups(string serverFolder, bool v2)
    {
        _serverFolder = serverFolder;
        V2 = v2;
    }

    /// <summary>True with cgroup v2 (one hierarchy), false with cgroup v1.</summary>
    public bool V2 { get; }

    /// <summary>The server's folder in each hierarchy used; the first holds every job process.</summary>
    public IReadOnlyList<string> ServerFolders => [Tracking, .. _v1.Where(h => h.Key != "pids").Select(h => h.Value)];

    private string Tracking => V2 ? _serverFolder : _v1["pids"];

    /// <summary>How often folders whose removal failed are tried again.</summary>
    internal TimeSpan RetryPeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The folders of ended jobs not removed yet.</summary>
    internal ICollection<string> Stuck => _stuck.Keys;

    /// <summary>What job cgroups offer here, for the server's start-up log.</summary>
    public string Description => V2
        ? $"job cgroups under {_serverFolder} (cgroup v2; controllers: {string.Join(' ', _v2Controllers.Order())})"
        : $"job cgroups under {Tracking} (cgroup v1; limits: {string.Join(' ', _v1.Keys.Order())})";

    /// <summary>
    /// This server's cgroup folders, or null (with the reason) when cgroups cannot be used here.
    /// </summary>
    /// <param name="v2Root">
    /// A cgroup v2 mount to use; when null, <c>/sys/fs/cgroup</c> if it is cgroup v2, else the cgroup
    /// v1 hierarchies mounted (a <c>pids</c> one is needed to track trees).
    /// </param>
    /// <param name="reason">What job cgroups offer here, or why there are none.</param>
    public static Cgroups? TryCreate(string? v2Root, out string reason)
    {
        int instance = Interlocked.Increment(ref s_instances);
        // One folder per launcher, so that launchers in one process (tests) never sweep each other's jobs.
        string server = $"server-{Environment.ProcessId}-{instance}";
        v2Root ??= File.Exists("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup" : null;
        try
        {
            return v2Root is not null ? CreateV2(v2Root, server, out reason) : CreateV1(server, out reason);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            reason = $"cannot create job cgroups: {e.Message}";
            return null;
        }
    }

    private static Cgroups? CreateV2(string root, string server, out string reason)
    {
        if (!File.Exists(Path.Combine(root, "cgroup.controllers")))
        {
            reason = $"{root} is not a cgroup v2 mount";
            return null;
        }

        string parent = Path.Combine(root, "jobs");
        string directory = Path.Combine(parent, server);
        Directory.CreateDirectory(directory);

        // cgroup v2 hands a controller to a child only when every ancestor enables it for its children.
        foreach (string level in new[] { root, parent, directory })
        {
            foreach (string controller in new[] { "pids", "memory", "cpu", "io" })
            {
                TryWrite(Path.Combine(level, "cgroup.subtree_control"), "+" + controller);
            }
        }

        var cgroups = new Cgroups(directory, v2: true);
        cgroups._v2Controllers.UnionWith(File.ReadAllText(Path.Combine(directory, "cgroup.subtree_control"))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        SweepStale(parent, directory);
        reason = cgroups.Description;
        return cgroups;
    }

    private static Cgroups? CreateV1(string server, out string reason)
    {
        var mounts = V1Mounts();
        if (!mounts.ContainsKey("pids"))
        {
            reason = "no cgroup v2 hierarchy and no cgroup v1 pids hierarchy is mounted";
            return null;
        }

        var cgroups = new Cgroups(server, v2: false);
        foreach (var (controller, mount) in mounts)
        {
            string parent = Path.Combine(mount, "jobs");
            string directory = Path.Combine(parent, server);
            try
            {
                Directory.CreateDirectory(directory);
            }
            catch (Exception e) when (controller != "pids" && e is UnauthorizedAccessException or IOException)
            {
                // This limit is refused then; trees are still tracked.
                continue;
            }

            cgroups._v1[controller] = directory;
            SweepStale(parent, directory);
        }

        reason = cgroups.Description;
        return cgroups;
    }

    // The v1 hierarchies Jobs uses, by controller, from the mount table (a hierarchy may carry several, as cpu,cpuacct).
    private static Dictionary<string, string> V1Mounts()
    {
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in File.ReadLines("/proc/self/mounts"))
        {
            string[] fields = line.Split(' ');
            if (fields.Length < 4 || fields[2] != "cgroup")
            {
                continue;
            }

            foreach (string option in fields[3].Split(','))
            {
                if (option is "pids" or "memory" or "cpu" or "blkio")
                {
                    found.TryAdd(option, fields[1].Replace("\\040", " ", StringComparison.Ordinal));
                }
            }
        }

        return found;
    }

    /// <summary>Creates the cgroups of a new job, with its limits set; nothing is left behind when that fails.</summary>
    /// <exception cref="LimitUnavailableException">A limit's controller is not available here.</exception>
    /// <exception cref="ArgumentException">A limit names a device the server does not have.</exception>
    public JobCgroup Create(ChildLimits? limits)
    {
        bool plain = limits is null || limits.None;
        if (plain && _idle.TryPop(out string? reused))
        {
            return new JobCgroup([reused], MemoryEvents: null) { Pool = this, Owner = this };
        }

        string name = $"job-{Interlocked.Increment(ref _next)}";
        var created = new List<string>();
        try
        {
            if (V2)
            {
                string job = Path.Combine(_serverFolder, name);
                Directory.CreateDirectory(job);
                created.Add(job);
                if (limits is not null)
                {
                    ApplyV2(job, limits);
                }

                return new JobCgroup(created, MemoryEvents: limits?.MemoryBytes is null ? null : Path.Combine(job, "memory.events")) { Pool = plain ? this : null, Owner = this };
            }

            created.Add(CreateV1(name, "pids"));
            string? oomControl = null;
            if (limits?.MaxProcesses is { } processes)
            {
                Write(created[0], "pids.max", Invariant(processes));
            }

            if (limits?.MemoryBytes is { } memory)
            {
                string job = CreateV1(name, "memory");
                created.Add(job);
                Write(job, "memory.limit_in_bytes", Invariant(memory));
                // Swap counts too where the kernel accounts it; the combined limit must be set second.
                TryWrite(Path.Combine(job, "memory.memsw.limit_in_bytes"), Invariant(memory));
                oomControl = Path.Combine(job, "memory.oom_control");
            }

            if (limits?.CpuCores is { } cores)
            {
                string job = CreateV1(name, "cpu");
                created.Add(job);
                Write(job, "cpu.cfs_period_us", Invariant(CpuPeriodMicroseconds));
                Write(job, "cpu.cfs_quota_us", Invariant(CpuQuota(cores)));
            }

            if (limits is { ReadBytesPerSecond: { Count: > 0 } } or { WriteBytesPerSecond: { Count: > 0 } })
            {
                string job = CreateV1(name, "blkio");
                created.Add(job);
                foreach (var (device, rate) in BlockDevices.Resolve(limits.ReadBytesPerSecond))
                {
                    Write(job, "blkio.throttle.read_bps_device", $"{device} {Invariant(rate)}");
                }

                foreach (var (device, rate) in BlockDevices.Resolve(limits.WriteBytesPerSecond))
                {
                    Write(job, "blkio.throttle.write_bps_device", $"{device} {Invariant(rate)}");
                }
            }

            return new JobCgroup(created, oomControl) { Pool = plain ? this : null, Owner = this };
        }
        catch
        {
            foreach (string folder in created)
            {
                TryDelete(folder);
            }

            throw;
        }
    }

    private const int CpuPeriodMicroseconds = 100_000;

    private static long CpuQuota(double cores) => Math.Max(1000, (long)Math.Round(cores * CpuPeriodMicroseconds));

    private void ApplyV2(string job, ChildLimits limits)
    {
        if (limits.MaxProcesses is { } processes)
        {
            WriteV2(job, "pids", "pids.max", Invariant(processes));
        }

        if (limits.MemoryBytes is { } memory)
        {
            WriteV2(job, "memory", "memory.max", Invariant(memory));
            TryWrite(Path.Combine(job, "memory.swap.max"), "0");
            // The whole job goes when one of its processes is OOM-killed, as a service does with systemd.
            TryWrite(Path.Combine(job, "memory.oom.group"), "1");
        }

        if (limits.CpuCores is { } cores)
        {
            WriteV2(job, "cpu", "cpu.max", $"{Invariant(CpuQuota(cores))} {Invariant(CpuPeriodMicroseconds)}");
        }

        foreach (var (device, rate) in BlockDevices.Resolve(limits.ReadBytesPerSecond))
        {
            WriteV2(job, "io", "io.max", $"{device} rbps={Invariant(rate)}");
        }

        foreach (var (device, rate) in BlockDevices.Resolve(limits.WriteBytesPerSecond))
        {
            WriteV2(job, "io", "io.max", $"{device} wbps={Invariant(rate)}");
        }
    }

    private void WriteV2(string job, string controller, string file, string value)
    {
        if (!_v2Controllers.Contains(controller))
        {
            throw new LimitUnavailableException(
                $"the {controller} controller is not available for job cgroups in {_serverFolder} (enabled: {string.Join(' ', _v2Controllers.Order())})");
        }

        Write(job, file, value);
    }

    private string CreateV1(string name, string controller)
    {
        if (!_v1.TryGetValue(controller, out string? server))
        {
            throw new LimitUnavailableException($"no cgroup v1 {controller} hierarchy is mounted here, so this limit cannot be enforced");
        }

        string job = Path.Combine(server, name);
        Directory.CreateDirectory(job);
        return job;
    }

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static void Write(string cgroup, string file, string value)
    {
        string path = Path.Combine(cgroup, file);
        if (!File.Exists(path))
        {
            throw new LimitUnavailableException($"this kernel cannot enforce the limit: {path} is missing");
        }

        try
        {
            File.WriteAllText(path, value);
        }
        catch (IOException e)
        {
            throw new LimitUnavailableException($"the kernel refused '{value}' for {path}: {e.Message}");
        }
    }

    private static void TryWrite(string path, string value)
    {
        try
        {
            File.WriteAllText(path, value);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Optional: not offered here.
        }
    }

    /// <summary>Removes an empty cgroup folder; false when it is still there.</summary>
    internal static bool TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder);
            return true;
        }
        catch (DirectoryNotFoundException)
        {
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A member appeared, or a folder was made inside it: the caller retries later.
            return false;
        }
    }

    /// <summary>Keeps trying to remove the folder of an ended job until it is gone.</summary>
    internal void RemoveLater(string folder)
    {
        _stuck[folder] = 0;
        lock (_retryGate)
        {
            _retry ??= new Timer(_ => RetryStuck(), null, RetryPeriod, Timeout.InfiniteTimeSpan);
        }
    }

    private void RetryStuck()
    {
        foreach (string folder in _stuck.Keys)
        {
            try
            {
                if (Signal(folder, LibC.SIGKILL) == 0 && TryDelete(folder))
                {
                    _stuck.TryRemove(folder, out _);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Tried again next time.
            }
        }

        lock (_retryGate)
        {
            if (_stuck.IsEmpty)
            {
                _retry?.Dispose();
                _retry = null;
            }
            else
            {
                _retry?.Change(RetryPeriod, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>
    /// Keeps an emptied tracking folder of a job without limits for the next one; false when it is
    /// not certainly empty or enough are kept already (then it is removed).
    /// </summary>
    internal bool TryKeep(string folder)
    {
        // pids.current counts a process from the moment it is forked until it is reaped, so a fork
        // still under way when the job's last member was killed keeps the folder out of the pool.
        if (_idle.Count >= MaxIdle || !IsEmpty(folder))
        {
            return false;
        }

        _idle.Push(folder);
        return true;
    }

    private static bool IsEmpty(string folder)
    {
        try
        {
            return File.ReadAllText(Path.Combine(folder, "pids.current")).Trim() == "0" && Members(folder).Count == 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No pids controller here (or the folder is gone): nothing proves it empty.
            return false;
        }
    }

    /// <summary>Sends a signal to every process in the cgroup, except members of <paramref name="skipGroup"/>; returns how many members there were.</summary>
    public static int Signal(string cgroup, int signal, int skipGroup = 0)
    {
        int count = 0;
        foreach (int pid in Members(cgroup))
        {
            if (skipGroup == 0 || LibC.getpgid(pid) != skipGroup)
            {
                LibC.kill(pid, signal);
            }

            count++;
        }

        return count;
    }

    /// <summary>Kills every member until none is left; false when some are still there when the time is up.</summary>
    public static async Task<bool> EmptyAsync(string cgroup, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Signal(cgroup, LibC.SIGKILL) > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(5).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>Kills every member until none is left (or the time is up), then removes the cgroup.</summary>
    public static async Task<bool> KillAndRemoveAsync(string cgroup, TimeSpan timeout)
    {
        if (!await EmptyAsync(cgroup, timeout).ConfigureAwait(false))
        {
            return false;
        }

        TryDelete(cgroup);
        return true;
    }

    private static List<int> Members(string cgroup)
    {
        var members = new List<int>();
        try
        {
            foreach (string line in File.ReadLines(Path.Combine(cgroup, "cgroup.procs")))
            {
                if (int.TryParse(line, out int pid))
                {
                    members.Add(pid);
                }
            }
        }
        catch (IOException)
        {
            // The cgroup is gone.
        }

        return members;
    }

    // Servers that died without their watchdog (or before it ran) leave cgroups behind: end their jobs now.
    private static void SweepStale(string parent, string own)
    {
        foreach (string server in Directory.EnumerateDirectories(parent, "server-*"))
        {
            string[] parts = Path.GetFileName(server).Split('-');
            if (server == own || parts.Length < 2 || !int.TryParse(parts[1], out int pid) || ProcessTable.Exists(pid))
            {
                continue;
            }

            try
            {
                foreach (string job in Directory.EnumerateDirectories(server))
                {
                    KillAndRemoveAsync(job, TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
                }
            }
            catch (DirectoryNotFoundException)
            {
                // Another server starting at the same moment swept it first (two silos on one machine).
                continue;
            }

            TryDelete(server);
        }
    }
}

/// <summary>One job's cgroups: the first holds every process of the job; the others (cgroup v1) hold its limits.</summary>
/// <param name="Folders">The job's folders, the tracking one first.</param>
/// <param name="MemoryEvents">The file that counts the job's OOM kills (<c>memory.events</c> or v1 <c>memory.oom_control</c>), when memory is limited.</param>
internal sealed record JobCgroup(IReadOnlyList<string> Folders, string? MemoryEvents)
{
    /// <summary>Where the tracking folder goes back to once emptied, for a job that set no limits in it; null to remove it.</summary>
    public Cgroups? Pool { get; init; }

    /// <summary>The folder whose <c>cgroup.procs</c> lists every process of the job.</summary>
    public string Tracking => Folders[0];

    /// <summary>The processes the kernel killed for going over the memory limit (read before removal).</summary>
    public int OomKills()
    {
        if (MemoryEvents is null)
        {
            return 0;
        }

        try
        {
            foreach (string line in File.ReadLines(MemoryEvents))
            {
                if (line.StartsWith("oom_kill ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(9), out int kills))
                {
                    return kills;
                }
            }
        }
        catch (IOException)
        {
            // Gone already.
        }

        return 0;
    }

    /// <summary>The launcher's cgroups, which retry the removal of folders that could not be removed now.</summary>
    public Cgroups? Owner { get; init; }

    /// <summary>
    /// Kills every process of the job until none is left, then removes every folder; true when the
    /// tracking folder was emptied (no process of the job is left). A folder that cannot be emptied
    /// or removed now is handed to <see cref="Owner"/> to retry.
    /// </summary>
    public async Task<bool> KillAndRemoveAsync(TimeSpan timeout)
    {
        bool gone = await Cgroups.EmptyAsync(Tracking, timeout).ConfigureAwait(false);
        foreach (string folder in Folders)
        {
            bool emptied = folder == Tracking ? gone : await Cgroups.EmptyAsync(folder, timeout).ConfigureAwait(false);
            bool kept = emptied && folder == Tracking && Folders.Count == 1 && Pool is not null && Pool.TryKeep(folder);
            if (!kept && !(emptied && Cgroups.TryDelete(folder)))
            {
                Owner?.RemoveLater(folder);
            }
        }

        return gone;
    }
}
