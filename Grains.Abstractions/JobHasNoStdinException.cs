namespace Jobs.Grains;

/// <summary>Stdin was asked of a job started without it (<see cref="JobSpec.Stdin"/>).</summary>
[GenerateSerializer, Alias("Jobs.JobHasNoStdinException")]
public sealed class JobHasNoStdinException(string message) : Exception(message);
