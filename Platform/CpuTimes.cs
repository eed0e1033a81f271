namespace Jobs.Platform;

/// <summary>CPU time the machine has spent since boot, over all cores, in the OS's own unit; only differences mean anything.</summary>
/// <param name="Busy">Time not idle (and, on Linux, not waiting for I/O).</param>
/// <param name="Total">All time counted.</param>
internal readonly record struct CpuTimes(long Busy, long Total);
