using Jobs.Platform;
using Microsoft.Extensions.Logging;

namespace Jobs.Grains;

// Stopping a job: a kill by request, a signal, or its timeout. The end itself comes through the exit path.
public sealed partial class JobGrain
{
    // How long a kill's answer waits for the end: well inside any caller's response timeout, so a
    // long grace never fails the call; past it the caller waits on the job's stream (as Wait does).
    private TimeSpan KillAnswerWithin => TimeSpan.FromTicks(Math.Min(messaging.Value.ResponseTimeout.Ticks / 3, TimeSpan.FromSeconds(10).Ticks));

    public Task<JobStatus> KillAsync(TimeSpan grace)
    {
        // A grace a timer cannot hold is refused too, however the server's maximum is configured.
        var limit = options.Value.MaxKillGrace < TimerLimit.Longest ? options.Value.MaxKillGrace : TimerLimit.Longest;
        if (grace < TimeSpan.Zero || grace > limit)
        {
            throw new InvalidRequestException($"the grace period must be between 0 and {limit}");
        }

        return StopAsync(EndReason.KilledByRequest, grace, KillAnswerWithin);
    }

    public Task<JobStatus> SignalAsync(string signal)
    {
        var status = CurrentStatus();
        if (status.Ended || _child is null)
        {
            return Task.FromResult(status);
        }

        try
        {
            _child.Signal(signal);
        }
        catch (PlatformNotSupportedException e)
        {
            throw new InvalidRequestException(e.Message);
        }

        return Task.FromResult(CurrentStatus());
    }

    // Starts the stop and waits for the end at most `answerWithin`: the stop goes on by itself, and
    // the end comes through the exit path (which always ends the job), never through this call.
    private async Task<JobStatus> StopAsync(EndReason reason, TimeSpan grace, TimeSpan answerWithin)
    {
        var status = CurrentStatus();
        if (status.Ended || _child is null)
        {
            return status;
        }

        if (_endReason == EndReason.None)
        {
            _endReason = reason;
        }

        _ = StopChildAsync(_child, grace);
        if (answerWithin > TimeSpan.Zero)
        {
            await Task.WhenAny(_ended.Task, Task.Delay(answerWithin));
        }

        return CurrentStatus();
    }

    private async Task StopChildAsync(IChild child, TimeSpan grace)
    {
        try
        {
            await child.StopAsync(grace, CancellationToken.None);
        }
        catch (Exception e)
        {
            // The exit path ends the job whatever happened here (and kills the tree if it can).
            logger.LogError(e, "Job {JobId}: stopping its process tree failed", this.GetPrimaryKeyString());
        }
    }

    private Task TimeOutAsync(CancellationToken cancellationToken)
    {
        if (_status is { Ended: false })
        {
            logger.LogInformation("Job {JobId} ran past its timeout; stopping it", _status.JobId);
            var grace = options.Value.DefaultKillGrace < TimerLimit.Longest ? options.Value.DefaultKillGrace : TimerLimit.Longest;
            return StopAsync(EndReason.TimedOut, grace, TimeSpan.Zero);
        }

        return Task.CompletedTask;
    }
}
