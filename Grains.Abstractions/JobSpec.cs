namespace Jobs.Grains;

/// <summary>What a job runs.</summary>
/// <param name="Command">A path, or a program name looked up in the server's <c>PATH</c>.</param>
/// <param name="Args">Arguments, passed to the program as they are (no shell).</param>
[GenerateSerializer, Immutable, Alias("Jobs.JobSpec")]
public sealed record JobSpec(
    [property: Id(0)] string Command,
    [property: Id(1)] string[] Args);
