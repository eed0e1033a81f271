namespace Jobs.Grains;

/// <summary>
/// The running jobs of one identity (key: the client certificate's common name), for the cap on
/// running jobs per identity. Lives in memory, like the jobs it counts.
/// </summary>
public interface IOwnerGrain : IGrainWithStringKey
{
    /// <summary>Counts the job as running unless the identity already runs <paramref name="limit"/> jobs; false then.</summary>
    Task<bool> AdmitAsync(string jobId, int limit);

    /// <summary>The job has ended (or never started): it no longer counts.</summary>
    Task ReleaseAsync(string jobId);
}
