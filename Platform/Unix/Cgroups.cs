using System.Collections.Concurrent;

namespace Jobs.Platform.Unix;

/// <summary>
/// A cgroup per job, under <c>jobs/server-PID-N/</c>. With cgroup v2 that is one folder holding
/// every controller; with cgroup v1 the job's folder in the <c>pids</c> hierarchy tracks the tree
/// and, for each limit asked for, a folder of the same name in the <c>memory</c>, <c>cpu</c> or
/// <c>blkio</c> hierarchy holds it. Membership is inherited by every descendant and cannot be left
/// without root, so a job's whole tree can be found, killed and waited for, including processes
/// that left its process group or session.
/// </summary>
// Discovery of the hierarchies and the server's folders here; job folders and their limits in
// Cgroups.Limits.cs; killing, removal and the pool of idle folders in Cgroups.Removal.cs.
internal sealed partial class Cgroups
{
    // Emptied folders of ended jobs (cgroup v1), kept for the next job: mkdir and rmdir of a cgroup
    // take the kernel's cgroup lock, and cost more than the start of /bin/true.
    private const int MaxIdle = 64;

    private static int s_instances;
    private readonly ConcurrentStack<JobCgroup> _idle = new();
    private readonly string _serverFolder;
    private readonly Dictionary<string, string> _v1 = new(StringComparer.Ordinal);
    private readonly HashSet<string> _v2Controllers = new(StringComparer.Ordinal);

    private long _next;

    private Cgroups(string serverFolder, bool v2)
    {
        _serverFolder = serverFolder;
        V2 = v2;
    }

    /// <summary>True with cgroup v2 (one hierarchy), false with cgroup v1.</summary>
    public bool V2 { get; }

    /// <summary>The server's folder in each hierarchy used; the first holds every job process.</summary>
    public IReadOnlyList<string> ServerFolders => [Tracking, .. _v1.Where(h => h.Key != "pids").Select(h => h.Value).Distinct().Where(f => f != Tracking)];

    private string Tracking => V2 ? _serverFolder : _v1["pids"];

    /// <summary>What job cgroups offer here, for the server's start-up log.</summary>
    public string Description => (V2
        ? $"job cgroups under {_serverFolder} (cgroup v2; controllers: {string.Join(' ', _v2Controllers.Order())})"
        : $"job cgroups under {Tracking} (cgroup v1; limits: {string.Join(' ', _v1.Keys.Order())})") + Budget;

    // What all jobs of this server may use together, for the log.
    private string Budget { get; set; } = string.Empty;

    /// <summary>The node's budget for all jobs together, as written in the server's folders.</summary>
    public JobsBudget ReadBudget() => new(
        CgroupFiles.Usage(V2, Tracking, Folder("memory"), V2 ? _serverFolder : Folder("cpuacct"), Folder(V2 ? "io" : "blkio")),
        CgroupFiles.Number(Path.Combine(Tracking, "pids.max")),
        Folder("memory") is { } memory ? CgroupFiles.Number(Path.Combine(memory, V2 ? "memory.max" : "memory.limit_in_bytes")) is { } max && max < long.MaxValue / 2 ? max : null : null,
        _cpuWeight);

    private int? _cpuWeight;

    private string? Folder(string controller) => V2 ? (_v2Controllers.Contains(controller) ? _serverFolder : null) : _v1.GetValueOrDefault(controller);

    /// <summary>The process limit a job gets by default: 15 % of the kernel's limit, as systemd's <c>DefaultTasksMax=</c>; null where pids cannot be limited.</summary>
    public int? DefaultJobPids => V2 && !_v2Controllers.Contains("pids") ? null : (int)(KernelPids * 15 / 100);

    private static long KernelPids => Math.Min(ReadLong("/proc/sys/kernel/pid_max"), ReadLong("/proc/sys/kernel/threads-max"));

    // Writes the budget of all jobs of this server into its folders: a process limit below the
    // kernel's, a memory limit below the machine's, and one CPU weight for all of them together.
    private void LimitJobs(PlatformOptions? options)
    {
        var said = new List<string>();
        long kernel = KernelPids;
        long processes = options?.JobsMaxPids ?? kernel - (kernel * 15 / 100);
        if (processes < 0)
        {
            throw new InvalidOperationException($"{PlatformOptions.Section}:JobsMaxPids must be 0 (no limit) or more, not {processes}");
        }

        said.Add(processes == 0 ? "no process limit"
            : TryWrite(Tracking, "pids.max", Invariant(processes)) is { } refused
                ? $"no process limit (the kernel refused {processes}: {refused})"
                : $"at most {processes} processes (the kernel allows {kernel})");

        long total = MachineMemory();
        long memory = PlatformOptions.JobsMemoryBudget(options, total);
        if (memory > 0 && Folder("memory") is { } memoryFolder)
        {
            // Hierarchical accounting is always on with cgroup v2 and recent v1 kernels; older v1 ones need asking.
            TryWrite(Path.Combine(Path.GetDirectoryName(memoryFolder)!, "memory.use_hierarchy"), "1");
            string? failed = V2
                ? TryWrite(memoryFolder, "memory.max", Invariant(memory))
                : TryWrite(memoryFolder, "memory.limit_in_bytes", Invariant(memory));
            if (!V2 && failed is null)
            {
                TryWrite(memoryFolder, "memory.memsw.limit_in_bytes", Invariant(memory));
            }

            said.Add(failed is null
                ? $"{ByteSize.Format(memory)} of memory (the machine has {ByteSize.Format(total)})"
                : $"no memory limit (the kernel refused {ByteSize.Format(memory)}: {failed})");
        }
        else
        {
            said.Add(memory > 0 ? "no memory limit (no memory controller for job cgroups)" : "no memory limit");
        }

        int weight = (options ?? new PlatformOptions()).JobsCpuWeight;
        if (weight is < 1 or > 10000)
        {
            throw new InvalidOperationException($"{PlatformOptions.Section}:JobsCpuWeight must be 1-10000, not {weight}");
        }

        // The weight that counts is that of the folder every server's jobs sit in, which competes
        // with the server's own cgroup (or, with cgroup v1, with every thread outside job cgroups).
        if (Folder("cpu") is { } cpuFolder)
        {
            string jobs = Path.GetDirectoryName(cpuFolder)!;
            string? failed = V2
                ? TryWrite(jobs, "cpu.weight", Invariant(weight))
                : TryWrite(jobs, "cpu.shares", Invariant(Math.Max(2, weight * 1024L / 100)));
            _cpuWeight = failed is null ? weight : null;
            said.Add(failed is null ? $"CPU weight {weight}, every job's tree one of its parts" : $"no CPU weight (the kernel refused {weight}: {failed})");
        }

        Budget = "; all jobs together: " + string.Join(", ", said);
    }

    // MemTotal of /proc/meminfo, in bytes.
    private static long MachineMemory()
    {
        foreach (string line in File.ReadLines("/proc/meminfo"))
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(9).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new IOException("/proc/meminfo has no MemTotal");
    }

    // Null when written, else why not.
    private static string? TryWrite(string folder, string file, string value)
    {
        try
        {
            File.WriteAllText(Path.Combine(folder, file), value);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
    }

    private static long ReadLong(string path) => long.Parse(File.ReadAllText(path).Trim(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// This server's cgroup folders, or null (with the reason) when cgroups cannot be used here.
    /// </summary>
    /// <param name="v2Root">
    /// A cgroup v2 mount to use; when null, <c>/sys/fs/cgroup</c> if it is cgroup v2, else the cgroup
    /// v1 hierarchies mounted (a <c>pids</c> one is needed to track trees).
    /// </param>
    /// <param name="reason">What job cgroups offer here, or why there are none.</param>
    /// <param name="options">The budget of all jobs together (<see cref="PlatformOptions.JobsMaxPids"/> and the others); null: the defaults.</param>
    public static Cgroups? TryCreate(string? v2Root, out string reason, PlatformOptions? options = null)
    {
        int instance = Interlocked.Increment(ref s_instances);
        // One folder per launcher, so that launchers in one process (tests) never sweep each other's jobs.
        string server = $"server-{Environment.ProcessId}-{instance}";
        v2Root ??= File.Exists("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup" : null;
        try
        {
            var cgroups = v2Root is not null ? CreateV2(v2Root, server, out reason) : CreateV1(server, out reason);
            cgroups?.LimitJobs(options);
            reason = cgroups?.Description ?? reason;
            return cgroups;
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
                if (option is "pids" or "memory" or "cpu" or "cpuacct" or "blkio")
                {
                    found.TryAdd(option, fields[1].Replace("\\040", " ", StringComparison.Ordinal));
                }
            }
        }

        return found;
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
