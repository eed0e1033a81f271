namespace Jobs.Grains;

/// <summary>
/// The jobs of one identity (key: the client certificate's common name): the running ones for the
/// cap on running jobs per identity, and all of them for listing. Lives in memory, like the jobs.
/// </summary>
public interface IOwnerGrain : IGrainWithStringKey
{
    /// <summary>
    /// Counts the job as running on <paramref name="silo"/> unless the identity already runs
    /// <paramref name="limit"/> jobs; false then. Jobs on silos that left the cluster no longer count.
    /// </summary>
    Task<bool> AdmitAsync(string jobId, int limit, string silo);

    /// <summary>The job has ended: it no longer counts as running, and is still listed.</summary>
    Task ReleaseAsync(string jobId);

    /// <summary>The job is gone (forgotten, or it never started): no longer listed.</summary>
    Task ForgetAsync(string jobId);

    /// <summary>The identity's jobs, running and finished, until forgotten.</summary>
    Task<string[]> JobsAsync();
}
