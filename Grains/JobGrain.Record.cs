using Microsoft.Extensions.Logging;

namespace Jobs.Grains;

// The job's record in the cluster store, and what an activation answers from it when no process is here.
public sealed partial class JobGrain
{
    // A record but no process: the job ended here and was deactivated while nobody called it; or it
    // ran on another node; or on this silo in an activation now gone.
    private void AnswerForRecord(JobStatus recorded, string silo, OutputIndex? output)
    {
        if (silo != cluster.LocalSilo && !cluster.IsGone(silo))
        {
            _elsewhere = silo;
            DeactivateOnIdle();
            return;
        }

        if (silo == cluster.LocalSilo && recorded.Ended && recorded.State != JobState.Lost && output is not null)
        {
            // Its status is the recorded one and its output is in the spool, as it was left.
            _status = recorded;
            _log = OutputLog.Reopen(JobFolder, options.Value.MaxOutputBytesPerJob, options.Value.HotWindowBytes, output, budget: budget);
        }
        else
        {
            _status = recorded with { State = JobState.Lost };
        }

        if (DateTimeOffset.UtcNow - (recorded.EndedAt ?? recorded.StartedAt) > options.Value.Retention)
        {
            // Past its retention: forgotten now, as it would have been on its node.
            Forget(Owner(_status.Owner));
            _log?.Dispose();
            _ = ClearRecordAsync();
            _status = null;
        }
    }

    private async Task WriteRecordAsync(JobStatus status)
    {
        record.State.Status = status;
        record.State.Silo = cluster.LocalSilo;
        record.State.Output = status.Ended ? _log.Index : null;
        try
        {
            await record.WriteStateAsync();
        }
        catch
        {
            // Not recorded: this activation must not leave memory as if it were.
            record.State.Output = null;
            throw;
        }
    }

    private async Task ClearRecordAsync()
    {
        try
        {
            await record.ClearStateAsync();
        }
        catch (Exception e)
        {
            // The record outlives the job; an activation for it later answers LOST and forgets it again.
            logger.LogWarning(e, "Job {JobId}: could not delete its record from the cluster store", this.GetPrimaryKeyString());
        }
    }
}
