namespace Jobs.Grains;

/// <summary>The running jobs of one identity; see <see cref="IOwnerGrain"/>.</summary>
public sealed class OwnerGrain : Grain, IOwnerGrain
{
    private readonly HashSet<string> _running = new(StringComparer.Ordinal);

    public Task<bool> AdmitAsync(string jobId, int limit)
    {
        if (!_running.Contains(jobId) && _running.Count >= limit)
        {
            return Task.FromResult(false);
        }

        _running.Add(jobId);
        // The set is the only record of what runs: keep it while anything does.
        DelayDeactivation(TimeSpan.MaxValue);
        return Task.FromResult(true);
    }

    public Task ReleaseAsync(string jobId)
    {
        _running.Remove(jobId);
        if (_running.Count == 0)
        {
            DeactivateOnIdle();
        }

        return Task.CompletedTask;
    }
}
