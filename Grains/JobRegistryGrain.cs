using Microsoft.Extensions.Options;

namespace Jobs.Grains;

/// <summary>
/// Bounds the number of finished jobs: the oldest are forgotten (output files included) once more
/// than <see cref="JobOptions.MaxFinishedJobs"/> have ended. Jobs past their retention time forget
/// themselves; their ids leave the queue in turn.
/// </summary>
public sealed class JobRegistryGrain(IOptions<JobOptions> options) : Grain, IJobRegistryGrain
{
    private readonly Queue<string> _finished = new();
    private readonly HashSet<string> _owners = new(StringComparer.Ordinal);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // The queue lives in memory only, like the jobs it bounds: keep it as long as the silo runs.
        DelayDeactivation(TimeSpan.MaxValue);
        return Task.CompletedTask;
    }

    public Task JobEndedAsync(string jobId)
    {
        _finished.Enqueue(jobId);
        while (_finished.Count > Math.Max(0, options.Value.MaxFinishedJobs))
        {
            _ = GrainFactory.GetGrain<IJobGrain>(_finished.Dequeue()).ForgetAsync();
        }

        return Task.CompletedTask;
    }

    public Task PingAsync() => Task.CompletedTask;

    public Task OwnerChangedAsync(string owner, bool active)
    {
        if (active)
        {
            _owners.Add(owner);
        }
        else
        {
            _owners.Remove(owner);
        }

        return Task.CompletedTask;
    }

    public Task<string[]> OwnersAsync() => Task.FromResult(_owners.ToArray());
}
