namespace Jobs.Grains;

/// <summary>A run of a job's output that is not held: from <paramref name="Start"/> up to <paramref name="Resume"/>, in both streams.</summary>
/// <param name="Start">The mark of the first byte not held.</param>
/// <param name="Resume">The mark where held output goes on (the end of the output when none follows).</param>
/// <param name="Reason">Why the bytes are not held.</param>
[GenerateSerializer, Immutable, Alias("Jobs.OutputGap")]
public sealed record OutputGap(
    [property: Id(0)] OutputMark Start,
    [property: Id(1)] OutputMark Resume,
    [property: Id(2)] OutputDropReason Reason)
{
    /// <summary>Output bytes not held, both streams.</summary>
    public long Length => Resume.Position - Start.Position;
}
