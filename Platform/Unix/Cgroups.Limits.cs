using System.Globalization;

namespace Jobs.Platform.Unix;

// A new job's folders, with its limits written into them.
internal sealed partial class Cgroups
{
    /// <summary>
    /// Creates the cgroups of a new job, with its limits set; nothing is left behind when that fails.
    /// With cgroup v1 the job gets a folder in every hierarchy the server uses, limits or not: its
    /// memory, CPU time and IO are then counted (and held to the node's budget) like any other job's.
    /// </summary>
    /// <exception cref="LimitUnavailableException">A limit's controller is not available here.</exception>
    /// <exception cref="ArgumentException">A limit names a device the server does not have.</exception>
    public JobCgroup Create(ChildLimits? limits)
    {
        limits ??= new ChildLimits();
        bool throttled = limits.ReadBytesPerSecond is { Count: > 0 } || limits.WriteBytesPerSecond is { Count: > 0 };
        if (!V2 && !throttled && _idle.TryPop(out var reused))
        {
            try
            {
                SetV1(reused, limits, reset: true);
                reused.Pool = this;
                return reused;
            }
            catch
            {
                foreach (string folder in reused.Folders)
                {
                    TryDelete(folder);
                }

                throw;
            }
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
                ApplyV2(job, limits);
                return new JobCgroup(created, byController: null) { Owner = this };
            }

            CheckV1(limits);
            var folders = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string controller in _v1.Keys.OrderBy(c => c == "pids" ? 0 : 1).ThenBy(c => c, StringComparer.Ordinal))
            {
                // A hierarchy may carry several controllers (cpu,cpuacct): one folder for them.
                string job = Path.Combine(_v1[controller], name);
                folders[controller] = job;
                if (!created.Contains(job))
                {
                    Directory.CreateDirectory(job);
                    created.Add(job);
                }
            }

            var cgroup = new JobCgroup(created, folders) { Owner = this };
            SetV1(cgroup, limits, reset: false);
            if (throttled)
            {
                foreach (var (device, rate) in BlockDevices.Resolve(limits.ReadBytesPerSecond))
                {
                    Write(folders["blkio"], "blkio.throttle.read_bps_device", $"{device} {Invariant(rate)}");
                }

                foreach (var (device, rate) in BlockDevices.Resolve(limits.WriteBytesPerSecond))
                {
                    Write(folders["blkio"], "blkio.throttle.write_bps_device", $"{device} {Invariant(rate)}");
                }
            }
            else
            {
                // Folders with rates set are not reused: a rate cannot be taken back one device at a time.
                cgroup.Pool = this;
            }

            return cgroup;
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

    // A limit whose hierarchy is not mounted cannot be enforced: refused before any folder is made.
    private void CheckV1(ChildLimits limits)
    {
        foreach (var (asked, controller) in new[]
        {
            (limits.MemoryBytes is not null, "memory"),
            (limits.CpuCores is not null, "cpu"),
            (limits.ReadBytesPerSecond is { Count: > 0 } || limits.WriteBytesPerSecond is { Count: > 0 }, "blkio"),
        })
        {
            if (asked && !_v1.ContainsKey(controller))
            {
                throw new LimitUnavailableException($"no cgroup v1 {controller} hierarchy is mounted here, so this limit cannot be enforced");
            }
        }
    }

    // The limits of a v1 job, in folders new or reused; a reused one gets every limit written
    // again (none where none is asked for) and its counters zeroed, so nothing of the job before shows.
    private void SetV1(JobCgroup job, ChildLimits limits, bool reset)
    {
        CheckV1(limits);
        if (limits.MaxProcesses is { } processes)
        {
            Write(job.Tracking, "pids.max", Invariant(processes));
        }
        else if (reset)
        {
            Write(job.Tracking, "pids.max", "max");
        }

        if (job.Of("memory") is { } memory && (limits.MemoryBytes is not null || reset))
        {
            string value = limits.MemoryBytes is { } bytes ? Invariant(bytes) : "-1";
            // Swap counts too where the kernel accounts it. The combined limit may never be below the
            // other: raised first, then the limit, then the combined one down to it.
            TryWrite(Path.Combine(memory, "memory.memsw.limit_in_bytes"), "-1");
            Write(memory, "memory.limit_in_bytes", value);
            TryWrite(Path.Combine(memory, "memory.memsw.limit_in_bytes"), value);
            if (reset)
            {
                TryWrite(Path.Combine(memory, "memory.max_usage_in_bytes"), "0");
            }
        }

        if (job.Of("cpu") is { } cpu && (limits.CpuCores is not null || reset))
        {
            if (!reset)
            {
                Write(cpu, "cpu.cfs_period_us", Invariant(CpuPeriodMicroseconds));
            }

            Write(cpu, "cpu.cfs_quota_us", limits.CpuCores is { } cores ? Invariant(CpuQuota(cores)) : "-1");
        }

        if (reset && job.Of("cpuacct") is { } cpuacct)
        {
            TryWrite(Path.Combine(cpuacct, "cpuacct.usage"), "0");
        }

        if (reset && job.Of("blkio") is { } blkio)
        {
            TryWrite(Path.Combine(blkio, "blkio.reset_stats"), "1");
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
}
