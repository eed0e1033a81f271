using Microsoft.Extensions.Logging;

namespace Jobs.Grains;

/// <summary>
/// The jobs of one identity; see <see cref="IOwnerGrain"/>. Kept in the cluster store, so that a
/// node that dies takes neither the count nor the listing with it; jobs on silos that left the
/// cluster stop counting as running the next time the count matters.
/// </summary>
public sealed class OwnerGrain(
    [PersistentState("owner", JobStorage.Name)] IPersistentState<OwnerRecord> state,
    IClusterView cluster,
    ILogger<OwnerGrain> logger) : Grain, IOwnerGrain
{
    private OwnerRecord Record => state.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Record.Jobs.Count > 0)
        {
            DelayDeactivation(TimeSpan.MaxValue);
        }

        return Task.CompletedTask;
    }

    public async Task<bool> AdmitAsync(string jobId, int limit, string silo, string? requestId)
    {
        // Calls here take turns, so of concurrent starts with one request id exactly one is admitted.
        if (requestId is not null && Record.Requests.TryGetValue(requestId, out string? first) && first != jobId)
        {
            throw new DuplicateRunException($"request id '{requestId}' started job {first} already", first);
        }

        if (!Record.Running.ContainsKey(jobId) && Record.Running.Count >= limit)
        {
            await ReleaseLostAsync();
            if (Record.Running.Count >= limit)
            {
                return false;
            }
        }

        Record.Running[jobId] = silo;
        bool firstJob = Record.Jobs.Add(jobId) && Record.Jobs.Count == 1;
        if (requestId is not null)
        {
            Record.Requests[requestId] = jobId;
            Record.RequestOf[jobId] = requestId;
        }

        await state.WriteStateAsync();
        if (firstJob)
        {
            // The sets are the only record of these jobs: keep them while there are any.
            DelayDeactivation(TimeSpan.MaxValue);
            await GrainFactory.GetGrain<IJobRegistryGrain>(0).OwnerChangedAsync(this.GetPrimaryKeyString(), active: true);
        }

        return true;
    }

    public async Task ReleaseAsync(string jobId)
    {
        if (Record.Running.Remove(jobId))
        {
            await state.WriteStateAsync();
        }
    }

    public async Task ForgetAsync(string jobId)
    {
        bool running = Record.Running.Remove(jobId);
        bool known = Record.Jobs.Remove(jobId);
        bool requested = Record.RequestOf.Remove(jobId, out string? requestId);
        if (requested)
        {
            // The id may start a job again: what it started is gone.
            Record.Requests.Remove(requestId!);
        }

        if (running || known || requested)
        {
            await state.WriteStateAsync();
        }

        if (known && Record.Jobs.Count == 0)
        {
            await GrainFactory.GetGrain<IJobRegistryGrain>(0).OwnerChangedAsync(this.GetPrimaryKeyString(), active: false);
            DeactivateOnIdle();
        }
    }

    public async Task<string[]> JobsAsync()
    {
        await ReleaseLostAsync();
        return [.. Record.Jobs];
    }

    // Jobs whose node left the cluster have ended with it: they no longer count as running, and
    // they join the finished jobs, so the cap on those forgets them in turn.
    private async Task ReleaseLostAsync()
    {
        var lost = Record.Running.Where(r => cluster.IsGone(r.Value)).Select(r => r.Key).ToList();
        if (lost.Count == 0)
        {
            return;
        }

        logger.LogInformation("{Owner}: {Count} running jobs were on nodes that left the cluster; they are lost", this.GetPrimaryKeyString(), lost.Count);
        foreach (string id in lost)
        {
            Record.Running.Remove(id);
        }

        await state.WriteStateAsync();
        var registry = GrainFactory.GetGrain<IJobRegistryGrain>(0);
        foreach (string id in lost)
        {
            await registry.JobEndedAsync(id);
        }
    }
}
