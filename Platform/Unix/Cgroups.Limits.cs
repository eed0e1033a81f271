using System.Globalization;

namespace Jobs.Platform.Unix;

// A new job's folders, with its limits written into them.
internal sealed partial class Cgroups
{
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
}
