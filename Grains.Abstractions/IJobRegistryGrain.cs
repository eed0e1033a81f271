namespace Jobs.Grains;

/// <summary>
/// Keeps the number of finished jobs bounded: finished jobs are reported here, and the oldest are
/// forgotten once more than the configured number are kept. One per cluster (key 0).
/// </summary>
public interface IJobRegistryGrain : IGrainWithIntegerKey
{
    /// <summary>Records that a job has ended.</summary>
    Task JobEndedAsync(string jobId);

    /// <summary>An identity has jobs now (<paramref name="active"/>) or none any more.</summary>
    Task OwnerChangedAsync(string owner, bool active);

    /// <summary>The identities that have jobs, for an admin's listing of every job.</summary>
    Task<string[]> OwnersAsync();

    /// <summary>Answers when the cluster can run grain calls: the gateway's health check.</summary>
    Task PingAsync();
}
