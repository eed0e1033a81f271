namespace Jobs.Grains;

/// <summary>An answer to a read of a job's output by position.</summary>
/// <param name="Records">The records from the asked position on, in order; empty when there is nothing new.</param>
/// <param name="NextPosition">Where the next read should start.</param>
/// <param name="EndPosition">How much output the job has written so far (both streams together).</param>
/// <param name="Final">The final status once the job has ended; all output is recorded then.</param>
/// <param name="First">
/// The oldest output still held: output before it was dropped by the per-job cap. A read from an
/// earlier position answers from here.
/// </param>
/// <param name="Skipped">
/// Set when output from the asked position on is not held (the cap, a full disk, the node's budget):
/// what was skipped and why; <paramref name="Records"/> go on from its resume mark.
/// </param>
[GenerateSerializer, Immutable, Alias("Jobs.OutputSlice")]
public sealed record OutputSlice(
    [property: Id(0)] OutputRecord[] Records,
    [property: Id(1)] long NextPosition,
    [property: Id(2)] long EndPosition,
    [property: Id(3)] JobStatus? Final,
    [property: Id(4)] OutputMark First,
    [property: Id(5)] OutputGap? Skipped = null);
