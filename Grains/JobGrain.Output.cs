using Jobs.Platform;
using Microsoft.Extensions.Logging;

namespace Jobs.Grains;

// The job's output: recorded from the child's channel into its log, and read back by position.
public sealed partial class JobGrain
{
    private async Task<ChildExit> RecordOutputAsync(IChild child)
    {
        var lostReason = OutputDropReason.None;
        try
        {
            // Everything the readers have handed over is recorded in one turn and announced once.
            var reader = child.Output;
            while (await reader.WaitToReadAsync())
            {
                while (reader.TryRead(out var output))
                {
                    // Output that cannot be stored is counted and the job goes on: never killed for it.
                    var refused = _log.Append(output);
                    if (refused != lostReason)
                    {
                        LogOutputStorage(refused);
                        lostReason = refused;
                    }

                    JobMetrics.Output(output.Stream, output.Data.Length);
                }

                PublishSoon();
            }
        }
        catch (Exception e)
        {
            // Output that cannot be recorded must not leave a job running that nobody can follow.
            logger.LogError(e, "Job {JobId}: recording output failed; killing the job", _status!.JobId);
            await child.KillAsync(CancellationToken.None);
        }

        return await child.Exited;
    }

    private void LogOutputStorage(OutputDropReason refused)
    {
        if (refused == OutputDropReason.None)
        {
            logger.LogInformation("Job {JobId}: output is stored again; {Bytes} bytes were lost", this.GetPrimaryKeyString(), _log.LostBytes);
        }
        else
        {
            logger.LogWarning(
                "Job {JobId}: output cannot be stored ({Reason}: {Error}); it is counted as lost, and the job goes on",
                this.GetPrimaryKeyString(), refused, refused == OutputDropReason.DiskFull ? _log.LastWriteError : $"{JobOptions.Section}:MaxOutputBytesTotal is {budget.Limit} bytes");
        }
    }

    public Task<OutputSlice> ReadOutputAsync(long position, int maxBytes)
    {
        var status = CurrentStatus();
        var first = _log.First;
        if (status.State == JobState.Lost)
        {
            // Its output went with its node: a follower that had read some of it ends here, with the status.
            return Task.FromResult(new OutputSlice([], position, position, status, first));
        }

        var records = _log.Read(position, Math.Clamp(maxBytes, 1, 4 * 1024 * 1024), out var skipped);
        long next = records.Length > 0 ? records[^1].EndPosition : skipped?.Resume.Position ?? Math.Max(position, first.Position);
        return Task.FromResult(new OutputSlice(records, next, _log.End, status.Ended ? status : null, _log.First, skipped));
    }

    public Task<long> FindPositionAsync(OutputStreamKind stream, long offset)
    {
        // A lost job's output went with its node: reading from the start answers with its status.
        return Task.FromResult(CurrentStatus().State == JobState.Lost ? 0 : _log.FindPosition(stream, offset));
    }
}
