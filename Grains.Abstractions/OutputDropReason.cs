namespace Jobs.Grains;

/// <summary>Why output a job wrote is not held.</summary>
[GenerateSerializer, Alias("Jobs.OutputDropReason")]
public enum OutputDropReason
{
    /// <summary>Nothing was dropped.</summary>
    None = 0,

    /// <summary>The per-job cap (<c>Jobs:MaxOutputBytesPerJob</c>) dropped the oldest bytes.</summary>
    Cap = 1,

    /// <summary>The bytes could not be written to the data directory (disk full, no file handle left).</summary>
    DiskFull = 2,

    /// <summary>
    /// The node's budget for all jobs' output (<c>Jobs:MaxOutputBytesTotal</c>) had no room: a running
    /// job's bytes were not kept, or a finished job's output was removed to make room.
    /// </summary>
    Budget = 3,
}
