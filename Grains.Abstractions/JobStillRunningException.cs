namespace Jobs.Grains;

/// <summary>The request needs a finished job, and this one is still running.</summary>
[GenerateSerializer, Alias("Jobs.JobStillRunningException")]
public sealed class JobStillRunningException(string message) : Exception(message);
