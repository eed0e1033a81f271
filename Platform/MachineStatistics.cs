using Jobs.Platform.Unix;

namespace Jobs.Platform;

/// <summary>
/// CPU and memory use of the whole machine, for a node to report. Sampled in the background once a
/// second, so <see cref="Current"/> returns at once and never touches the OS. CPU use is the plain
/// average over the last 5 s (a sliding window of the OS's CPU-time totals, not exponential
/// smoothing: a burst counts in full for 5 s, then not at all).
/// </summary>
/// <remarks>Linux reads <c>/proc</c>, Windows <c>GetSystemTimes</c> and <c>GlobalMemoryStatusEx</c>; other systems report zeros (and the CPU count).</remarks>
public sealed class MachineStatistics : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    // Six totals a second apart span five seconds.
    private const int WindowTotals = 6;

    private readonly IMachineCounters? _counters;
    private readonly Queue<CpuTimes> _window = new(WindowTotals + 1);
    private readonly PeriodicTimer? _timer;
    private readonly Lock _gate = new();
    private MachineLoad _current;
    private bool _disposed;

    private MachineStatistics(IMachineCounters? counters)
    {
        _counters = counters;
        _current = new MachineLoad(0, Environment.ProcessorCount, 0, 0);
        if (counters is not null)
        {
            // One sample now, so memory is known from the start (CPU use needs a second one).
            Sample();
            _timer = new PeriodicTimer(Interval);
            _ = SampleEachIntervalAsync(_timer);
        }
    }

    /// <summary>The latest figures, at once; 0 for any figure this machine could not give. Never throws, also after <see cref="Dispose"/>.</summary>
    public MachineLoad Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    /// <summary>Starts sampling this machine with the OS's own counters.</summary>
    public static MachineStatistics CreateForCurrentOS()
    {
        if (OperatingSystem.IsLinux())
        {
            return new MachineStatistics(new LinuxMachineCounters());
        }

        if (OperatingSystem.IsWindows())
        {
            return new MachineStatistics(new Windows.WindowsMachineCounters());
        }

        return new MachineStatistics(null);
    }

    /// <summary>Stops sampling; <see cref="Current"/> keeps the last figures.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        _timer?.Dispose();
    }

    private async Task SampleEachIntervalAsync(PeriodicTimer timer)
    {
        // Ticks do not overlap: a slow sample delays the next one instead of running beside it.
        while (await timer.WaitForNextTickAsync().ConfigureAwait(false))
        {
            Sample();
        }
    }

    // Runs on one thread at a time (the constructor, then the timer loop), so the window needs no lock.
    private void Sample()
    {
        double cpuPercent = 0;
        long used = 0;
        long total = 0;
        try
        {
            cpuPercent = SampleCpu();
            if (!_counters!.TryReadMemory(out used, out total))
            {
                used = total = 0;
            }
        }
        catch (Exception)
        {
            // The counters catch what reading them can throw; anything else must not end the sampling
            // nor reach the thread pool. A figure that cannot be read is 0, and no one needs telling.
            _window.Clear();
        }

        var load = new MachineLoad(cpuPercent, Environment.ProcessorCount, used, total);
        lock (_gate)
        {
            // A tick that was under way while Dispose ran must not change what Current says afterwards.
            if (!_disposed)
            {
                _current = load;
            }
        }
    }

    private double SampleCpu()
    {
        if (!_counters!.TryReadCpu(out var now))
        {
            // Start the window again: a gap would make the next figure an average over an unknown time.
            _window.Clear();
            return 0;
        }

        _window.Enqueue(now);
        if (_window.Count > WindowTotals)
        {
            _window.Dequeue();
        }

        var oldest = _window.Peek();
        long total = now.Total - oldest.Total;
        long busy = now.Busy - oldest.Busy;

        // Linux's iowait can go backwards, so busy can outgrow total by a tick.
        return total <= 0 ? 0 : Math.Clamp(100.0 * busy / total, 0, 100);
    }
}
