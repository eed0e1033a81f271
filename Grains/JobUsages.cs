using Jobs.Platform;

namespace Jobs.Grains;

/// <summary>Usage figures from the platform into the grains' records.</summary>
internal static class JobUsages
{
    public static JobUsage From(ChildUsage usage) => new()
    {
        CpuTime = usage.CpuTime,
        MemoryBytes = usage.MemoryBytes,
        MemoryPeakBytes = usage.MemoryPeakBytes,
        Tasks = usage.Tasks,
        IoReadBytes = usage.IoReadBytes,
        IoWriteBytes = usage.IoWriteBytes,
    };
}
