using Microsoft.Extensions.Logging;

namespace Jobs.Grains;

// Leaving: a job forgotten by request, and what an activation leaves behind when it is deactivated.
public sealed partial class JobGrain
{
    public async Task<bool> ForgetAsync()
    {
        if (_elsewhere is not null)
        {
            CurrentStatus();
        }

        if (_status is null)
        {
            // Forgotten already (or never started): nothing to delete.
            DeactivateOnIdle();
            return true;
        }

        if (!_status.Ended)
        {
            return false;
        }

        Forget(Owner(_status.Owner));
        _status = null;
        _log.Dispose();
        DeactivateOnIdle();
        await ClearRecordAsync();
        return true;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_child is not null && _status is { Ended: false })
        {
            // Deactivated anyway (silo shutdown, or a failure): never leave the process behind.
            logger.LogWarning("Job {JobId} deactivated while running ({Reason}); killing it", _status.JobId, reason);
            try
            {
                await _child.KillAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                logger.LogError("Job {JobId}: kill did not finish before deactivation timed out", _status.JobId);
            }
        }

        // A finished job whose end is recorded leaves memory alone: its record and spool stay, and
        // the next call answers from them; it is forgotten by name, the cap or its retention (the
        // registry's). Any other output is not durable: it goes with the activation, and the job
        // from its owner's list; but a node that leaves the cluster leaves its jobs' records, so
        // that they are answered for as LOST.
        bool leaving = reason.ReasonCode == DeactivationReasonCode.ShuttingDown;
        if (_status is { Ended: true } && _status.State != JobState.Lost && record.State.Output is not null && !leaving)
        {
            // Its log was sealed at the job's end (or reopened sealed): no file is open to close.
            return;
        }

        if (_status is not null && _status.State != JobState.Lost && !leaving)
        {
            Forget(Owner(_status.Owner));
            await ClearRecordAsync();
        }

        _log.Dispose();
    }

    private async Task ForgetNowAsync(IOwnerGrain owner)
    {
        try
        {
            await owner.ForgetAsync(this.GetPrimaryKeyString());
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Job {JobId}: could not remove it from its owner's jobs", this.GetPrimaryKeyString());
        }
    }

    // Never fails (the job must not count or be listed forever); used as an exception filter, so always false.
    private bool Forget(IOwnerGrain owner)
    {
        owner.ForgetAsync(this.GetPrimaryKeyString()).ContinueWith(
            t => logger.LogWarning(t.Exception, "Job {JobId}: could not remove it from its owner's jobs", this.GetPrimaryKeyString()),
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted,
            TaskScheduler.Current);
        return false;
    }
}
