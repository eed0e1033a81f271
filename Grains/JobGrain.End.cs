using Jobs.Platform;
using Microsoft.Extensions.Logging;

namespace Jobs.Grains;

// The exit path: whatever happens to the child or to the recording of its output, the job ends here.
public sealed partial class JobGrain
{
    // Runs as grain turns: the channel hands each chunk over to the grain's scheduler. Whatever
    // fails on the way, the job ends here: a job left Running would pin its grain, hold its owner's
    // slot and keep every kill and waiter waiting.
    private async Task RecordAsync(IChild child)
    {
        ChildExit exit;
        try
        {
            exit = await RecordOutputAsync(child);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Job {JobId}: its exit could not be read; it is ended with its exit unknown", this.GetPrimaryKeyString());
            await KillQuietlyAsync(child);
            exit = new ChildExit(null, null, null);
        }

        try
        {
            await EndAsync(exit);
        }
        catch (Exception e)
        {
            // EndAsync guards each of its steps; this is the last line, so the end is never lost.
            logger.LogError(e, "Job {JobId}: recording its end failed", this.GetPrimaryKeyString());
            _status = _status! with { State = JobState.Killed, EndedAt = _status.EndedAt ?? DateTimeOffset.UtcNow };
            node.Remove(this.GetPrimaryKeyString());
            DelayDeactivation(TimeSpan.Zero);
            _ended.TrySetResult();
        }
    }

    private async Task KillQuietlyAsync(IChild child)
    {
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await child.KillAsync(bounded.Token);
        }
        catch (Exception e)
        {
            // The launcher's stop (KillJobsOnStop) still kills whatever is left of the tree.
            logger.LogError(e, "Job {JobId}: killing its process tree failed", this.GetPrimaryKeyString());
        }
    }

    private async Task EndAsync(ChildExit exit)
    {
        try
        {
            // All output is in: a finished job is kept for its retention, holding its index alone.
            _log.Seal();
        }
        catch (Exception e)
        {
            logger.LogError(e, "Job {JobId}: sealing its output log failed", this.GetPrimaryKeyString());
        }

        _child = null;
        node.Remove(this.GetPrimaryKeyString());
        _status = _status! with
        {
            State = exit.Killed ? JobState.Killed : JobState.Exited,
            ExitCode = exit.ExitCode,
            Signal = exit.Signal,
            SignalName = exit.SignalName,
            EndedAt = DateTimeOffset.UtcNow,
            // What the runner did comes first: a kill by request may land while memory runs out.
            EndReason = _endReason != EndReason.None ? _endReason
                : exit.Killed && exit.OomKills > 0 ? EndReason.OutOfMemory
                : EndReason.None,
            OomKills = exit.OomKills,
            Usage = exit.Usage is { } usage ? JobUsages.From(usage) : null,
        };
        _timeout?.Dispose();
        JobMetrics.JobFinished(_status);
        try
        {
            // Before the end is announced: whoever saw the job end (a kill's answer) may start another at once.
            await Owner(_status.Owner).ReleaseAsync(this.GetPrimaryKeyString());
        }
        catch (Exception e)
        {
            // Its owner counts it as running until it is forgotten (the caps and retention see to that).
            logger.LogWarning(e, "Job {JobId}: could not tell its owner it ended", _status.JobId);
        }

        logger.LogInformation(
            "Job {JobId} ended: {State} code={ExitCode} signal={Signal}, {Bytes} bytes of output",
            _status.JobId, _status.State, exit.ExitCode, exit.SignalName, _log.End);
        if (exit.Problem is { } problem)
        {
            // The exit is still exact; what failed is the clean-up around it (a cgroup, the last reads).
            logger.LogWarning("Job {JobId}: its end was not clean: {Problem}", _status.JobId, problem);
        }

        // From now on it is collected like any idle grain (after Jobs:FinishedIdle without a call).
        DelayDeactivation(TimeSpan.Zero);
        _ended.TrySetResult();
        PublishSoon();
        try
        {
            await WriteRecordAsync(CurrentStatus());
        }
        catch (Exception e)
        {
            // The record still says running: should this node go, the job is answered for as LOST.
            logger.LogWarning(e, "Job {JobId}: could not record its end in the cluster store", _status.JobId);
        }

        try
        {
            await GrainFactory.GetGrain<IJobRegistryGrain>(0).JobEndedAsync(_status.JobId);
        }
        catch (Exception e)
        {
            // The job stays until its retention ends; only the cap on finished jobs misses it.
            logger.LogWarning(e, "Job {JobId}: could not report its end to the job registry", _status.JobId);
        }
    }
}
