namespace Jobs.Grains;

/// <summary>Resource limits of a job's whole tree; null fields are not limited.</summary>
[GenerateSerializer, Immutable, Alias("Jobs.JobLimits")]
public sealed record JobLimits
{
    /// <summary>The most processes and threads the tree may hold at once.</summary>
    [Id(0)]
    public int? MaxProcesses { get; init; }

    /// <summary>CPU time the tree may use, in cores (0.5 is half of one core).</summary>
    [Id(1)]
    public double? CpuCores { get; init; }

    /// <summary>RAM the tree may use, in bytes, without swap.</summary>
    [Id(2)]
    public long? MemoryBytes { get; init; }

    /// <summary>Read rates from block devices.</summary>
    [Id(3)]
    public IoRate[] IoRead { get; init; } = [];

    /// <summary>Write rates to block devices.</summary>
    [Id(4)]
    public IoRate[] IoWrite { get; init; } = [];

    /// <summary>True when nothing is limited.</summary>
    public bool None => MaxProcesses is null && CpuCores is null && MemoryBytes is null && IoRead.Length == 0 && IoWrite.Length == 0;
}

/// <summary>A rate on one block device of the server (a path such as <c>/dev/sda</c>, or <c>MAJOR:MINOR</c>), or on every one when <paramref name="Device"/> is null.</summary>
[GenerateSerializer, Immutable, Alias("Jobs.IoRate")]
public sealed record IoRate([property: Id(0)] string? Device, [property: Id(1)] long BytesPerSecond);
