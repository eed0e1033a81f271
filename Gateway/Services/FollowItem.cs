using Jobs.Grains;

namespace Jobs.Gateway.Services;

/// <summary>
/// One step of following a job: a run of output; a notice that output before a mark was dropped
/// (the follow goes on from there); or, last, the job's final status.
/// </summary>
public readonly record struct FollowItem(OutputRecord? Output, JobStatus? End, OutputMark? Dropped = null);
