namespace Jobs.Grains;

/// <summary>
/// What a finished job's output log needs to be opened again from its spool files alone: where
/// the first frame still held begins, its mark, where the files end, and the byte counts.
/// </summary>
/// <param name="FilePosition">Offset in the spool of the first frame still held.</param>
/// <param name="First">The output mark of that frame (the oldest output still held).</param>
/// <param name="FileEnd">Where the spool's bytes end.</param>
/// <param name="End">Output bytes written in all, both streams.</param>
/// <param name="StdoutBytes">Bytes written to stdout.</param>
/// <param name="StderrBytes">Bytes written to stderr.</param>
/// <param name="Gaps">Runs of output after <paramref name="First"/> that were never stored (disk full, the node's budget), oldest first.</param>
[GenerateSerializer, Immutable, Alias("Jobs.OutputIndex")]
public sealed record OutputIndex(
    [property: Id(0)] long FilePosition,
    [property: Id(1)] OutputMark First,
    [property: Id(2)] long FileEnd,
    [property: Id(3)] long End,
    [property: Id(4)] long StdoutBytes,
    [property: Id(5)] long StderrBytes,
    [property: Id(6)] OutputGap[]? Gaps = null);
