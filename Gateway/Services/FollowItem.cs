using Jobs.Grains;

namespace Jobs.Gateway.Services;

/// <summary>
/// One step of following a job: a run of output; a notice that output before a mark was dropped
/// (the follow goes on from there); or, last, the job's final status. <see cref="More"/> says that
/// another item is in hand already, so the caller may hold this one back and send both in one flush.
/// </summary>
public readonly record struct FollowItem(OutputRecord? Output, JobStatus? End, OutputMark? Dropped = null)
{
    /// <summary>Another item follows at once (the same read or notice).</summary>
    public bool More { get; init; }
}
