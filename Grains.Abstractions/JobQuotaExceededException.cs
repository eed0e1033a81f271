namespace Jobs.Grains;

/// <summary>The caller runs as many jobs as it may; nothing was started.</summary>
[GenerateSerializer, Alias("Jobs.JobQuotaExceededException")]
public sealed class JobQuotaExceededException(string message) : Exception(message);
