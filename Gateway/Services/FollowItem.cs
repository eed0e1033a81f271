using Jobs.Grains;

namespace Jobs.Gateway.Services;

/// <summary>
/// One step of following a job: a run of output; a notice that output before a mark is not held
/// (the follow goes on from there; <see cref="Gap"/> says from where and why); or, last, the job's final status. <see cref="More"/> says that
/// another item is in hand already, so the caller may hold this one back and send both in one flush.
/// </summary>
public readonly record struct FollowItem(OutputRecord? Output, JobStatus? End, OutputMark? Dropped = null)
{
    /// <summary>Another item follows at once (the same read or notice).</summary>
    public bool More { get; init; }

    /// <summary>
    /// With <see cref="Dropped"/>: the run not held, and why (its resume mark is <see cref="Dropped"/>).
    /// Its start may lie before what the follower had got: a run still growing when it was met is
    /// met again, whole, from where the follower left off.
    /// </summary>
    public OutputGap? Gap { get; init; }
}
