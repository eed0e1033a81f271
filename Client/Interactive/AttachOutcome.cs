using Jobs.Protos;

namespace Jobs.Client.Interactive;

/// <summary>How an attach ended: with the job's final status, or detached with the job still running.</summary>
internal sealed record AttachOutcome(JobStatus? End)
{
    public bool Detached => End is null;
}
