namespace Jobs.Grains;

/// <summary>The job's command or arguments are not acceptable.</summary>
[GenerateSerializer, Alias("Jobs.InvalidJobSpecException")]
public sealed class InvalidJobSpecException(string message) : Exception(message);
