using System.Diagnostics;
using System.Globalization;
using Jobs.Platform.Unix;

namespace Jobs.Platform.Tests;

/// <summary>
/// Machine statistics against this Linux machine's /proc. The machine is shared with other work, so
/// CPU figures are only checked for what load elsewhere cannot break.
/// </summary>
public sealed class MachineStatisticsTests : IDisposable
{
    private static readonly TimeSpan OverOneSample = TimeSpan.FromSeconds(1.3);
    private readonly MachineStatistics _statistics = MachineStatistics.CreateForCurrentOS();

    public void Dispose() => _statistics.Dispose();

    [Fact(Timeout = 10_000)]
    public async Task Memory_total_is_MemTotal_of_proc_meminfo_and_used_lies_within_it()
    {
        await Task.Delay(OverOneSample);

        var load = _statistics.Current;

        Assert.Equal(MemTotalKib() * 1024, load.MemoryTotalBytes);
        Assert.InRange(load.MemoryUsedBytes, 1, load.MemoryTotalBytes);
    }

    [Fact(Timeout = 20_000)]
    public async Task Cpu_percent_rises_while_two_threads_spin()
    {
        await Task.Delay(OverOneSample);
        var idle = _statistics.Current;
        var readings = new List<double> { idle.CpuPercent };

        // Only the rise is asserted, loosely: the other work on this machine can only add to it.
        using var spin = new CancellationTokenSource();
        Thread[] spinners = [.. Enumerable.Range(0, 2).Select(_ => new Thread(() => Spin(spin.Token)) { IsBackground = true })];
        foreach (var spinner in spinners)
        {
            spinner.Start();
        }

        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(2.5))
        {
            await Task.Delay(100);
            readings.Add(_statistics.Current.CpuPercent);
        }

        var busy = _statistics.Current;
        await spin.CancelAsync();
        foreach (var spinner in spinners)
        {
            spinner.Join();
        }

        Assert.All(readings, percent => Assert.InRange(percent, 0, 100));
        Assert.True(busy.CpuPercent > 20, $"CPU {busy.CpuPercent:F1} % after 2.5 s of two spinning threads ({idle.CpuPercent:F1} % before)");
    }

    [Fact(Timeout = 10_000)]
    public async Task Cpu_count_is_the_processor_count()
    {
        await Task.Yield();

        Assert.Equal(Environment.ProcessorCount, _statistics.Current.CpuCount);
    }

    [Fact(Timeout = 10_000)]
    public async Task Dispose_stops_sampling_and_keeps_the_last_figures()
    {
        await Task.Delay(OverOneSample);

        _statistics.Dispose();
        var last = _statistics.Current;
        await Task.Delay(TimeSpan.FromSeconds(2.5));

        // Sampling on would have moved memory used (and the CPU average) in two samples.
        Assert.Equal(last, _statistics.Current);
        Assert.True(last.MemoryTotalBytes > 0, "no figures were kept");
    }

    [Fact(Timeout = 10_000)]
    public async Task Stat_busy_time_leaves_out_idle_iowait_and_guest_time()
    {
        await Task.Yield();

        // user nice system idle iowait irq softirq steal guest guest_nice; guest is inside user already.
        bool parsed = LinuxMachineCounters.TryParseStat("cpu  100 20 30 1000 50 5 5 10 7 3\ncpu0 50 10 15 500 25 2 3 5 4 1\n"u8, out var times);

        Assert.True(parsed);
        Assert.Equal(new CpuTimes(Busy: 170, Total: 1220), times);
    }

    [Fact(Timeout = 10_000)]
    public async Task Stat_without_the_cpu_line_is_not_read()
    {
        await Task.Yield();

        Assert.False(LinuxMachineCounters.TryParseStat("intr 1 2 3\n"u8, out _));
        Assert.False(LinuxMachineCounters.TryParseStat("cpu  100 x 30 1000\n"u8, out _));
        Assert.False(LinuxMachineCounters.TryParseStat("cpu  100 20"u8, out _));
    }

    [Fact(Timeout = 10_000)]
    public async Task Meminfo_used_is_total_less_available_in_bytes()
    {
        await Task.Yield();

        bool parsed = LinuxMachineCounters.TryParseMemInfo("MemTotal:        1000 kB\nMemFree:          100 kB\nMemAvailable:     400 kB\nBuffers: 1 kB\n"u8, out long used, out long total);

        Assert.True(parsed);
        Assert.Equal(1000 * 1024, total);
        Assert.Equal(600 * 1024, used);
    }

    [Fact(Timeout = 10_000)]
    public async Task Meminfo_without_MemAvailable_is_not_read()
    {
        await Task.Yield();

        Assert.False(LinuxMachineCounters.TryParseMemInfo("MemTotal:        1000 kB\nMemFree:          100 kB\n"u8, out _, out _));
    }

    private static void Spin(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            // Busy on purpose.
        }
    }

    private static long MemTotalKib()
    {
        string line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        return long.Parse(line["MemTotal:".Length..].Replace("kB", "", StringComparison.Ordinal).Trim(), CultureInfo.InvariantCulture);
    }
}
