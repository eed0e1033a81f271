namespace Jobs.Platform;

/// <summary>How busy the whole machine is, as <see cref="MachineStatistics"/> last sampled it. A figure that could not be read is 0.</summary>
/// <param name="CpuPercent">CPU use of all cores together, 0 to 100 (100 is every core busy), averaged over the last few seconds.</param>
/// <param name="CpuCount">Logical processors the runtime sees (<see cref="Environment.ProcessorCount"/>).</param>
/// <param name="MemoryUsedBytes">Physical memory in use: the total less what is available to new programs without swapping.</param>
/// <param name="MemoryTotalBytes">Physical memory of the machine.</param>
public readonly record struct MachineLoad(double CpuPercent, int CpuCount, long MemoryUsedBytes, long MemoryTotalBytes);
