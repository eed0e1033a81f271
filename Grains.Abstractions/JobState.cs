namespace Jobs.Grains;

/// <summary>Where a job is in its life.</summary>
[GenerateSerializer, Alias("Jobs.JobState")]
public enum JobState
{
    /// <summary>The process is running.</summary>
    Running = 1,

    /// <summary>The process returned from main or called exit; see <see cref="JobStatus.ExitCode"/>.</summary>
    Exited = 2,

    /// <summary>The process was ended by a signal; see <see cref="JobStatus.Signal"/>.</summary>
    Killed = 3,

    /// <summary>
    /// The node that ran the job left the cluster (it died or stopped); the process and its output
    /// went with it. <see cref="JobStatus.ExitCode"/> or <see cref="JobStatus.Signal"/> are set if it had ended before.
    /// </summary>
    Lost = 4,
}
