using Jobs.Grains;

namespace Jobs.Gateway.Services;

/// <summary>One step of following a job: a run of output, or (last) the job's final status.</summary>
public readonly record struct FollowItem(OutputRecord? Output, JobStatus? End);
