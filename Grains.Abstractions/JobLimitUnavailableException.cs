namespace Jobs.Grains;

/// <summary>The job asked for a limit the server cannot enforce; it was not started.</summary>
[GenerateSerializer, Alias("Jobs.JobLimitUnavailableException")]
public sealed class JobLimitUnavailableException(string message) : Exception(message);
