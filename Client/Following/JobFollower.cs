using Jobs.Protos;

namespace Jobs.Client.Following;

/// <summary>
/// Follows a job's output and waits for its end: what <c>run --follow/--wait</c>, <c>logs</c> and
/// <c>wait</c> share.
/// </summary>
internal sealed class JobFollower(Protos.Jobs.JobsClient client)
{
    /// <summary>Asks the server for the job's end (the Wait call, no output); returns its final status.</summary>
    public async Task<JobStatus> WaitAsync(string jobId, CancellationToken cancellationToken) =>
        (await client.WaitAsync(new WaitRequest { JobId = jobId }, cancellationToken: cancellationToken).ConfigureAwait(false)).Status
            ?? throw new CliException(ExitCodes.Failure, $"the server answered the wait for job {jobId} without its status");

    /// <summary>Copies output until the job has ended; returns its final status.</summary>
    public async Task<JobStatus> FollowAsync(JobOutputWriter writer, LogsRequest request, CancellationToken cancellationToken) =>
        await CopyAsync(writer, request, cancellationToken).ConfigureAwait(false)
            ?? throw new CliException(ExitCodes.Failure, $"the log stream of job {request.JobId} ended before the job did");

    /// <summary>
    /// Copies what the server sends through <paramref name="writer"/> (all output so far, for a
    /// request with <c>no_follow</c>); the final status if it came.
    /// </summary>
    public Task<JobStatus?> CopyAsync(JobOutputWriter writer, LogsRequest request, CancellationToken cancellationToken, Action<OutputChunk>? collect = null) =>
        writer.CopyAsync(client, request, cancellationToken, collect);
}
