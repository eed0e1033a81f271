namespace Jobs.Grains;

/// <summary>
/// The event a job publishes on its output stream: output between two positions now exists, or the
/// job has ended. It carries positions only, never bytes: followers read the bytes by position.
/// Orleans' memory streams keep every event in their queue cache for a while whether or not anyone
/// is behind, so bytes in events cost memory with every notice.
/// </summary>
/// <param name="Start">The position of the first byte this notice announces.</param>
/// <param name="End">How much output exists now.</param>
/// <param name="Final">The final status, on the notice published after the job ended and all output was recorded.</param>
[GenerateSerializer, Immutable, Alias("Jobs.OutputNotice")]
public sealed record OutputNotice(
    [property: Id(0)] long Start,
    [property: Id(1)] long End,
    [property: Id(3)] JobStatus? Final);
