namespace Jobs.Grains;

/// <summary>Why a job ended, when the runner caused it.</summary>
[GenerateSerializer, Alias("Jobs.EndReason")]
public enum EndReason
{
    /// <summary>The job ended by itself (or the reason is not known).</summary>
    None = 0,

    /// <summary>A kill was requested.</summary>
    KilledByRequest = 1,

    /// <summary>The job ran past its timeout.</summary>
    TimedOut = 2,

    /// <summary>The kernel killed the job's main process for going over the job's memory limit.</summary>
    OutOfMemory = 3,
}
