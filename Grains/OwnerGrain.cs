namespace Jobs.Grains;

/// <summary>The jobs of one identity; see <see cref="IOwnerGrain"/>.</summary>
public sealed class OwnerGrain : Grain, IOwnerGrain
{
    private readonly HashSet<string> _running = new(StringComparer.Ordinal);
    private readonly HashSet<string> _jobs = new(StringComparer.Ordinal);

    public async Task<bool> AdmitAsync(string jobId, int limit, string silo)
    {
        if (!_running.Contains(jobId) && _running.Count >= limit)
        {
            return false;
        }

        _running.Add(jobId);
        if (_jobs.Add(jobId) && _jobs.Count == 1)
        {
            // The sets are the only record of these jobs: keep them while there are any.
            DelayDeactivation(TimeSpan.MaxValue);
            await GrainFactory.GetGrain<IJobRegistryGrain>(0).OwnerChangedAsync(this.GetPrimaryKeyString(), active: true);
        }

        return true;
    }

    public Task ReleaseAsync(string jobId)
    {
        _running.Remove(jobId);
        return Task.CompletedTask;
    }

    public async Task ForgetAsync(string jobId)
    {
        _running.Remove(jobId);
        if (_jobs.Remove(jobId) && _jobs.Count == 0)
        {
            await GrainFactory.GetGrain<IJobRegistryGrain>(0).OwnerChangedAsync(this.GetPrimaryKeyString(), active: false);
            DeactivateOnIdle();
        }
    }

    public Task<string[]> JobsAsync() => Task.FromResult(_jobs.ToArray());
}
