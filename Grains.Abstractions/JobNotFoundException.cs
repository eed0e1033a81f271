namespace Jobs.Grains;

/// <summary>No job has this id, or it was forgotten.</summary>
[GenerateSerializer, Alias("Jobs.JobNotFoundException")]
public sealed class JobNotFoundException(string message) : Exception(message);
