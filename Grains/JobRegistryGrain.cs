using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jobs.Grains;

/// <summary>
/// Bounds the number of finished jobs: the oldest are forgotten (output files included) once more
/// than <see cref="JobOptions.MaxFinishedJobs"/> have ended. Jobs past their retention time forget
/// themselves; their ids leave the queue in turn. Kept in the cluster store; the queue is written
/// at most once a second (it holds up to the cap's ids), the owners at once.
/// </summary>
public sealed class JobRegistryGrain(
    [PersistentState("registry", JobStorage.Name)] IPersistentState<RegistryRecord> state,
    IOptions<JobOptions> options,
    ILogger<JobRegistryGrain> logger) : Grain, IJobRegistryGrain
{
    private static readonly TimeSpan WriteDelay = TimeSpan.FromSeconds(1);

    private Queue<string> _finished = null!;
    private bool _dirty;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // One per cluster and called on every job's end: keep it while the silo runs.
        DelayDeactivation(TimeSpan.MaxValue);
        _finished = new Queue<string>(state.State.Finished);
        this.RegisterGrainTimer(WriteIfChangedAsync, new GrainTimerCreationOptions(WriteDelay, WriteDelay));
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => WriteIfChangedAsync(cancellationToken);

    public Task JobEndedAsync(string jobId)
    {
        _finished.Enqueue(jobId);
        _dirty = true;
        while (_finished.Count > Math.Max(0, options.Value.MaxFinishedJobs))
        {
            _ = GrainFactory.GetGrain<IJobGrain>(_finished.Dequeue()).ForgetAsync();
        }

        return Task.CompletedTask;
    }

    public Task PingAsync() => Task.CompletedTask;

    public async Task OwnerChangedAsync(string owner, bool active)
    {
        if (active ? state.State.Owners.Add(owner) : state.State.Owners.Remove(owner))
        {
            await WriteAsync();
        }
    }

    public Task<string[]> OwnersAsync() => Task.FromResult(state.State.Owners.ToArray());

    private async Task WriteIfChangedAsync(CancellationToken cancellationToken)
    {
        if (_dirty)
        {
            try
            {
                await WriteAsync();
            }
            catch (Exception e)
            {
                // Tried again on the next tick; until then a failover loses at most these ends.
                _dirty = true;
                logger.LogWarning(e, "The job registry could not write its queue of finished jobs");
            }
        }
    }

    private async Task WriteAsync()
    {
        _dirty = false;
        state.State.Finished = [.. _finished];
        await state.WriteStateAsync();
    }
}
