namespace Jobs.Grains;

/// <summary>Server-side settings of jobs (configuration section <c>Jobs</c>).</summary>
public sealed class JobOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string Section = "Jobs";

    /// <summary>How long a finished job, with its output, stays queryable.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(24);
}
