namespace Jobs.Platform;

/// <summary>The OS's running totals behind <see cref="MachineStatistics"/>. Never throws: a figure that cannot be read is false.</summary>
internal interface IMachineCounters
{
    /// <summary>CPU time since boot of all cores together.</summary>
    bool TryReadCpu(out CpuTimes times);

    /// <summary>Physical memory in use and in all, in bytes.</summary>
    bool TryReadMemory(out long usedBytes, out long totalBytes);
}
