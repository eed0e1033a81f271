namespace Jobs.Platform;

/// <summary>How the server's machine is used for jobs (configuration section <c>Jobs:Platform</c>).</summary>
public sealed class PlatformOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string Section = "Jobs:Platform";

    /// <summary>
    /// A cgroup v2 mount to create job cgroups in. When unset, <c>/sys/fs/cgroup</c> if it is cgroup
    /// v2, else the cgroup v1 hierarchies mounted there.
    /// </summary>
    public string? CgroupV2Root { get; set; }
}
