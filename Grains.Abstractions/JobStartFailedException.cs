namespace Jobs.Grains;

/// <summary>The OS refused to start the job's program; the message carries the OS error.</summary>
[GenerateSerializer, Alias("Jobs.JobStartFailedException")]
public sealed class JobStartFailedException(string message) : Exception(message);
