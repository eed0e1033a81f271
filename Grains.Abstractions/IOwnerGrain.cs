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
    /// A <paramref name="requestId"/> is kept with the job until it is forgotten.
    /// </summary>
    /// <exception cref="DuplicateRunException">The request id belongs to another job of the identity that is still kept.</exception>
    Task<bool> AdmitAsync(string jobId, int limit, string silo, string? requestId);

    /// <summary>The job has ended: it no longer counts as running, and is still listed.</summary>
    Task ReleaseAsync(string jobId);

    /// <summary>The job is gone (forgotten, or it never started): no longer listed, and its request id is free again.</summary>
    Task ForgetAsync(string jobId);

    /// <summary>The identity's jobs, running and finished, until forgotten.</summary>
    Task<string[]> JobsAsync();
}
