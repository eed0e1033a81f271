namespace Jobs.Grains;

/// <summary>
/// The event a job publishes on its output stream: output between two positions now exists, and
/// small runs of it ride along. Events stay small because memory streams lose large ones and are
/// slow per byte; a follower that sees a gap, or no inline records, reads by position instead.
/// </summary>
/// <param name="Start">The position of the first byte this notice announces.</param>
/// <param name="End">How much output exists now.</param>
/// <param name="Records">The records covering <paramref name="Start"/> to <paramref name="End"/>, when small enough to carry.</param>
/// <param name="Final">The final status, on the notice published after the job ended and all output was recorded.</param>
[GenerateSerializer, Immutable, Alias("Jobs.OutputNotice")]
public sealed record OutputNotice(
    [property: Id(0)] long Start,
    [property: Id(1)] long End,
    [property: Id(2)] OutputRecord[]? Records,
    [property: Id(3)] JobStatus? Final);
