using System.Runtime.Versioning;

namespace Jobs.Platform.Windows;

/// <summary>CPU time from <c>GetSystemTimes</c> and physical memory from <c>GlobalMemoryStatusEx</c>.</summary>
[SupportedOSPlatform("windows")]
internal sealed class WindowsMachineCounters : IMachineCounters
{
    public bool TryReadCpu(out CpuTimes times)
    {
        times = default;
        if (!Win32.GetSystemTimes(out long idle, out long kernel, out long user))
        {
            return false;
        }

        // Kernel time includes idle time.
        long total = kernel + user;
        times = new CpuTimes(total - idle, total);
        return true;
    }

    public unsafe bool TryReadMemory(out long usedBytes, out long totalBytes)
    {
        usedBytes = totalBytes = 0;
        var status = new Win32.MEMORYSTATUSEX { dwLength = (uint)sizeof(Win32.MEMORYSTATUSEX) };
        if (!Win32.GlobalMemoryStatusEx(ref status) || status.ullTotalPhys == 0)
        {
            return false;
        }

        totalBytes = (long)status.ullTotalPhys;
        usedBytes = (long)(status.ullTotalPhys - Math.Min(status.ullAvailPhys, status.ullTotalPhys));
        return true;
    }
}
