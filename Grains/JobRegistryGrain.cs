using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jobs.Grains;

/// <summary>
/// Bounds the finished jobs: the oldest are forgotten (output files included) once more than
/// <see cref="JobOptions.MaxFinishedJobs"/> have ended, and each once it is past its retention
/// (<see cref="JobOptions.Retention"/>), whether or not it is in memory. Kept in the cluster store;
/// the queue is written at most once a second (it holds up to the cap's ids), the owners at once.
/// </summary>
public sealed class JobRegistryGrain(
    [PersistentState("registry", JobStorage.Name)] IPersistentState<RegistryRecord> state,
    IOptions<JobOptions> options,
    ILogger<JobRegistryGrain> logger) : Grain, IJobRegistryGrain
{
    private static readonly TimeSpan WriteDelay = TimeSpan.FromSeconds(1);

    private Queue<(string Id, DateTimeOffset EndedAt)> _finished = null!;
    private bool _dirty;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // One per cluster and called on every job's end: keep it while the silo runs.
        DelayDeactivation(TimeSpan.MaxValue);
        var now = DateTimeOffset.UtcNow;
        _finished = new Queue<(string, DateTimeOffset)>(state.State.Finished.Select((id, i) =>
            (id, i < state.State.FinishedAt.Count ? state.State.FinishedAt[i] : now)));
        this.RegisterGrainTimer(WriteIfChangedAsync, new GrainTimerCreationOptions(WriteDelay, WriteDelay));
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => WriteIfChangedAsync(cancellationToken);

    public Task JobEndedAsync(string jobId)
    {
        _finished.Enqueue((jobId, DateTimeOffset.UtcNow));
        _dirty = true;
        while (_finished.Count > Math.Max(0, options.Value.MaxFinishedJobs))
        {
            Forget(_finished.Dequeue().Id);
        }

        return Task.CompletedTask;
    }

    // Every job has the same retention, so the queue's order (of ends) is the order of expiry.
    private void ForgetExpired()
    {
        var expired = DateTimeOffset.UtcNow - options.Value.Retention;
        while (_finished.Count > 0 && _finished.Peek().EndedAt < expired)
        {
            Forget(_finished.Dequeue().Id);
            _dirty = true;
        }
    }

    private void Forget(string jobId) => GrainFactory.GetGrain<IJobGrain>(jobId).ForgetAsync().ContinueWith(
        t => logger.LogWarning(t.Exception, "Job {JobId}: the registry could not forget it", jobId),
        CancellationToken.None,
        TaskContinuationOptions.OnlyOnFaulted,
        TaskScheduler.Current);

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
        ForgetExpired();
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
        state.State.Finished = [.. _finished.Select(f => f.Id)];
        state.State.FinishedAt = [.. _finished.Select(f => f.EndedAt)];
        await state.WriteStateAsync();
    }
}
