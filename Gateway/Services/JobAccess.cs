using Jobs.Gateway.Security;
using Jobs.Grains;

namespace Jobs.Gateway.Services;

/// <summary>Who may reach a job: its owner and admins.</summary>
internal static class JobAccess
{
    /// <summary>
    /// The job's grain and status when <paramref name="caller"/> may act on it. Someone else's job is
    /// answered exactly like a job that does not exist, so ids cannot be probed.
    /// </summary>
    /// <exception cref="JobNotFoundException">No such job, or not the caller's.</exception>
    public static async Task<(IJobGrain Grain, Grains.JobStatus Status)> OwnedAsync(IClusterClient client, string jobId, Caller caller)
    {
        var grain = client.GetGrain<IJobGrain>(jobId);
        var status = await grain.GetStatusAsync();
        return caller.MayAccess(status.Owner) ? (grain, status) : throw new JobNotFoundException($"job {jobId} not found");
    }
}
