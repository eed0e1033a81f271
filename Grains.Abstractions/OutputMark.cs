namespace Jobs.Grains;

/// <summary>A point in a job's output: its position in the whole output and each stream's offset there.</summary>
[GenerateSerializer, Immutable, Alias("Jobs.OutputMark")]
public sealed record OutputMark(
    [property: Id(0)] long Position,
    [property: Id(1)] long StdoutOffset,
    [property: Id(2)] long StderrOffset)
{
    /// <summary>The very beginning of the output.</summary>
    public static OutputMark Zero { get; } = new(0, 0, 0);
}
