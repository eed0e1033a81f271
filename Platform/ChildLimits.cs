namespace Jobs.Platform;

/// <summary>Resource limits applied to a child's whole tree before its first instruction.</summary>
/// <param name="MaxProcesses">The most processes and threads the tree may hold at once (cgroup <c>pids.max</c>).</param>
/// <param name="CpuCores">CPU time the tree may use, in cores (0.5 is half of one core), enforced per 100 ms period.</param>
/// <param name="MemoryBytes">RAM the tree may use, without swap; beyond it the kernel's OOM killer ends a process of the tree.</param>
/// <param name="ReadBytesPerSecond">Read rates from block devices.</param>
/// <param name="WriteBytesPerSecond">Write rates to block devices (writes that reach the device: direct I/O, and on cgroup v2 writeback too).</param>
public sealed record ChildLimits(
    int? MaxProcesses = null,
    double? CpuCores = null,
    long? MemoryBytes = null,
    IReadOnlyList<DeviceRate>? ReadBytesPerSecond = null,
    IReadOnlyList<DeviceRate>? WriteBytesPerSecond = null)
{
    /// <summary>The smallest CPU limit: one millisecond per 100 ms period, the kernel's least quota.</summary>
    public const double MinCpuCores = 0.01;

    /// <summary>True when no limit is set.</summary>
    public bool None => MaxProcesses is null && CpuCores is null && MemoryBytes is null
        && ReadBytesPerSecond is not { Count: > 0 } && WriteBytesPerSecond is not { Count: > 0 };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first limit that cannot be a limit.</summary>
    public void Validate()
    {
        if (MaxProcesses is < 1)
        {
            throw new ArgumentException("the process limit must be at least 1");
        }

        if (CpuCores is { } cores && (!double.IsFinite(cores) || cores < MinCpuCores))
        {
            throw new ArgumentException($"the CPU limit must be at least {MinCpuCores} cores");
        }

        // Below a few pages nothing, not even exec, can run; the kernel would OOM-kill at once.
        if (MemoryBytes is < 1024 * 1024)
        {
            throw new ArgumentException("the memory limit must be at least 1 MiB");
        }

        foreach (var rate in (ReadBytesPerSecond ?? []).Concat(WriteBytesPerSecond ?? []))
        {
            if (rate.BytesPerSecond < 1)
            {
                throw new ArgumentException("an I/O rate must be at least 1 byte per second");
            }
        }
    }
}

/// <summary>A rate limit on one block device, or on every one.</summary>
/// <param name="Device">A device path such as <c>/dev/vda</c>, or <c>MAJOR:MINOR</c>; every block device when null. A partition stands for its disk.</param>
/// <param name="BytesPerSecond">The rate.</param>
public sealed record DeviceRate(string? Device, long BytesPerSecond);
