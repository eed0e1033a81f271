using System.Globalization;
using Jobs.Platform;

namespace Jobs.Grains;

/// <summary>
/// The server's say on job limits. A job gets what it asks for, else the default, else the maximum;
/// asking for more than the maximum is refused. Where a maximum is set, no job runs without that limit.
/// </summary>
public sealed class LimitsOptions
{
    /// <summary>Limits of jobs that ask for none.</summary>
    public LimitValues Default { get; set; } = new();

    /// <summary>The most a job may ask for.</summary>
    public LimitValues Max { get; set; } = new();

    /// <summary>The limits a job runs with.</summary>
    /// <param name="requested">What the job asks for.</param>
    /// <param name="nodeDefaultPids">The node's process limit for a job that asks for none, when <see cref="Default"/> sets none (15 % of the kernel's limit); never over the maximum.</param>
    /// <exception cref="InvalidJobSpecException">The job asks for more than a maximum, or for a value that is no limit.</exception>
    public JobLimits Resolve(JobLimits? requested, int? nodeDefaultPids = null)
    {
        requested ??= new JobLimits();
        var max = Max.Parse("Max");
        var defaults = Default.Parse("Default");
        if (defaults.MaxProcesses is null && nodeDefaultPids is { } node)
        {
            defaults = defaults with { MaxProcesses = max.MaxProcesses is { } most ? Math.Min(node, most) : node };
        }

        return new JobLimits
        {
            MaxProcesses = Pick(requested.MaxProcesses, defaults.MaxProcesses, max.MaxProcesses, "process limit", v => v.ToString(CultureInfo.InvariantCulture)),
            CpuCores = Pick(requested.CpuCores, defaults.CpuCores, max.CpuCores, "CPU limit", v => v.ToString("0.###", CultureInfo.InvariantCulture) + " cores"),
            MemoryBytes = Pick(requested.MemoryBytes, defaults.MemoryBytes, max.MemoryBytes, "memory limit", ByteSize.Format),
            IoRead = PickRates(requested.IoRead, defaults.IoRead, max.IoRead, "read rate"),
            IoWrite = PickRates(requested.IoWrite, defaults.IoWrite, max.IoWrite, "write rate"),
        };
    }

    /// <summary>Throws <see cref="InvalidOperationException"/> when the configuration holds a value that is no limit, or a default over its maximum.</summary>
    public void Validate()
    {
        try
        {
            Resolve(null);
        }
        catch (InvalidJobSpecException e)
        {
            throw new InvalidOperationException($"Jobs:Limits: the default is over the maximum: {e.Message}", e);
        }
    }

    private static T? Pick<T>(T? asked, T? fallback, T? max, string what, Func<T, string> show)
        where T : struct, IComparable<T>
    {
        T? value = asked ?? fallback ?? max;
        if (value is { } v && max is { } m && v.CompareTo(m) > 0)
        {
            throw new InvalidJobSpecException($"a {what} of {show(v)} is over the server's maximum of {show(m)}");
        }

        return value;
    }

    // Rates asked for one device add to the all-devices default (or maximum); one asked for every device replaces it.
    private static IoRate[] PickRates(IoRate[] asked, IoRate[] fallback, IoRate[] max, string what)
    {
        foreach (var rate in asked)
        {
            if (max is [{ } cap] && rate.BytesPerSecond > cap.BytesPerSecond)
            {
                throw new InvalidJobSpecException(
                    $"a {what} of {ByteSize.Format(rate.BytesPerSecond)}/s is over the server's maximum of {ByteSize.Format(cap.BytesPerSecond)}/s");
            }
        }

        var baseline = asked.Any(r => r.Device is null) ? [] : fallback.Length > 0 ? fallback : max;
        return [.. baseline, .. asked];
    }
}

/// <summary>One set of limits in configuration; sizes and rates as <see cref="ByteSize"/> reads them (<c>512M</c>).</summary>
public sealed class LimitValues
{
    /// <summary>Processes and threads at once.</summary>
    public int? Pids { get; set; }

    /// <summary>CPU, in cores.</summary>
    public double? Cpu { get; set; }

    /// <summary>Memory, such as <c>1G</c>.</summary>
    public string? Memory { get; set; }

    /// <summary>Read rate from every block device, per second, such as <c>50M</c>.</summary>
    public string? IoReadBps { get; set; }

    /// <summary>Write rate to every block device, per second.</summary>
    public string? IoWriteBps { get; set; }

    internal JobLimits Parse(string name) => new()
    {
        MaxProcesses = Pids is < 1 ? throw Bad(name, "Pids", Pids.Value.ToString(CultureInfo.InvariantCulture)) : Pids,
        CpuCores = Cpu is { } cpu && (!double.IsFinite(cpu) || cpu < ChildLimits.MinCpuCores) ? throw Bad(name, "Cpu", cpu.ToString(CultureInfo.InvariantCulture)) : Cpu,
        MemoryBytes = Size(name, "Memory", Memory),
        IoRead = Size(name, "IoReadBps", IoReadBps) is { } read ? [new IoRate(null, read)] : [],
        IoWrite = Size(name, "IoWriteBps", IoWriteBps) is { } write ? [new IoRate(null, write)] : [],
    };

    private static long? Size(string name, string key, string? text) =>
        string.IsNullOrWhiteSpace(text) ? null : ByteSize.TryParse(text, out long bytes) ? bytes : throw Bad(name, key, text);

    private static InvalidOperationException Bad(string name, string key, string value) =>
        new($"Jobs:Limits:{name}:{key} is '{value}', which is not a limit");
}
