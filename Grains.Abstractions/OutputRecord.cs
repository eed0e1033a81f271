namespace Jobs.Grains;

/// <summary>A run of bytes from one output stream of a job.</summary>
/// <param name="Stream">The stream the bytes were written to.</param>
/// <param name="Offset">Offset of <paramref name="Data"/>[0] within its own stream.</param>
/// <param name="Position">
/// Position of <paramref name="Data"/>[0] in the job's whole output, stdout and stderr together in the
/// order they were read: the one cursor a follower needs to get every byte once and in order.
/// </param>
/// <param name="Data">The bytes; never modified once recorded.</param>
/// <param name="Ticks">When the server read the first of these bytes (UTC ticks); runs merged for a reader were read within 10 ms of it.</param>
[GenerateSerializer, Immutable, Alias("Jobs.OutputRecord")]
public sealed record OutputRecord(
    [property: Id(0)] OutputStreamKind Stream,
    [property: Id(1)] long Offset,
    [property: Id(2)] long Position,
    [property: Id(3)] byte[] Data,
    [property: Id(4)] long Ticks = 0)
{
    /// <summary>The position just after the last byte.</summary>
    public long EndPosition => Position + Data.Length;

    /// <summary>This record without the bytes before <paramref name="position"/> (itself when nothing is cut).</summary>
    public OutputRecord From(long position)
    {
        if (position <= Position)
        {
            return this;
        }

        int skip = (int)Math.Min(position - Position, Data.Length);
        return new OutputRecord(Stream, Offset + skip, Position + skip, Data[skip..], Ticks);
    }
}
