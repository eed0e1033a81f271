using Jobs.Grains;
using Orleans.Streams;

namespace Jobs.Gateway.Services;

/// <summary>
/// Waits for a job to end and answers with its final status, without moving any of its output.
/// The final notice on the job's Orleans stream ends the wait at once; the job's status, asked at
/// the start and about every second after, covers a job that ended before the subscription, a lost
/// notice, and a job whose node died (it answers LOST once the cluster has declared the node dead).
/// </summary>
public sealed class JobEndWaiter(IClusterClient client)
{
    private static readonly TimeSpan Recheck = TimeSpan.FromSeconds(1);

    /// <summary>The job's final status once it has ended.</summary>
    /// <param name="mayAccess">Whether the caller may see a job of this owner; if not, the job is not found.</param>
    /// <exception cref="JobNotFoundException">No job has this id, or the caller may not see it.</exception>
    public async Task<JobStatus> WaitAsync(string jobId, Func<string, bool> mayAccess, CancellationToken cancellationToken)
    {
        var grain = client.GetGrain<IJobGrain>(jobId);

        // A job that has ended (the common case for 'jobs wait' on an old id) needs no subscription.
        var status = await StatusAsync(grain, cancellationToken);
        if (status is not null)
        {
            Check(jobId, status, mayAccess);
            if (status.Ended)
            {
                return status;
            }
        }

        var ended = new TaskCompletionSource<JobStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        var stream = client.GetStreamProvider(JobStreams.ProviderName)
            .GetStream<OutputNotice>(StreamId.Create(JobStreams.OutputNamespace, jobId));
        var subscription = await stream.SubscribeAsync((notice, _) =>
        {
            if (notice.Final is { } final)
            {
                ended.TrySetResult(final);
            }

            return Task.CompletedTask;
        });
        try
        {
            while (true)
            {
                // Asked after subscribing: an end published before the subscription shows here.
                status = await StatusAsync(grain, cancellationToken);
                if (status is not null)
                {
                    Check(jobId, status, mayAccess);
                    if (status.Ended)
                    {
                        return status;
                    }
                }

                var recheck = Task.Delay(Recheck, cancellationToken);
                if (await Task.WhenAny(ended.Task, recheck) == ended.Task)
                {
                    var final = await ended.Task;
                    Check(jobId, final, mayAccess);
                    return final;
                }

                await recheck;
            }
        }
        finally
        {
            try
            {
                await subscription.UnsubscribeAsync();
            }
            catch (Exception e) when (NodeFaults.IsTransient(e))
            {
                // The subscription's silo is gone; its subscriptions went with it or are in the store.
            }
        }
    }

    // Null while the job's node is dying and not yet declared dead: the next check asks again.
    private static async Task<JobStatus?> StatusAsync(IJobGrain grain, CancellationToken cancellationToken)
    {
        try
        {
            return await grain.GetStatusAsync();
        }
        catch (Exception e) when (NodeFaults.IsTransient(e) && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    // Someone else's job is answered exactly like a job that does not exist, so ids cannot be probed.
    private static void Check(string jobId, JobStatus status, Func<string, bool> mayAccess)
    {
        if (!mayAccess(status.Owner))
        {
            throw new JobNotFoundException($"job {jobId} not found");
        }
    }
}
