namespace Jobs.Grains;

/// <summary>A job with this id was started already.</summary>
[GenerateSerializer, Alias("Jobs.JobAlreadyExistsException")]
public sealed class JobAlreadyExistsException(string message) : Exception(message);
