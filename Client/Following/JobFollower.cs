using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Jobs.Client.Connection;
using Jobs.Protos;

namespace Jobs.Client.Following;

/// <summary>
/// Follows a job's output and waits for its end: what <c>run --follow/--wait</c>, <c>logs</c> and
/// <c>wait</c> share. A call whose connection broke (a gateway restarted, say) or that the server
/// answered UNAVAILABLE is made again once the server answers, for up to
/// <paramref name="reconnectFor"/> (zero: never), and a log stream resumes from the offsets it had
/// reached, so the output stays byte-exact.
/// </summary>
/// <param name="client">The connection's client; its channel makes a new connection when the old one is gone.</param>
/// <param name="console">Where a reconnect is reported (stderr).</param>
/// <param name="reconnectFor">How long the server may stay out of reach before the command gives up.</param>
/// <param name="reached">
/// Whether a call on this connection has already succeeded (run's Run): a connection that was
/// never made is a wrong endpoint or a server that is down, reported at once rather than retried.
/// </param>
internal sealed class JobFollower(Protos.Jobs.JobsClient client, CliConsole console, TimeSpan reconnectFor, bool reached = false)
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(2);

    // A probe gets no longer than this: a gateway that accepts connections but cannot reach its
    // silo must not hold the reconnect loop past its own deadline.
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    // A call that ran this long before it broke counts as a new outage, not as the old one going on.
    private static readonly TimeSpan Healthy = TimeSpan.FromSeconds(5);

    private bool _reached = reached;
    private long? _outageStart;

    /// <summary>Asks the server for the job's end (the Wait call, no output); returns its final status.</summary>
    public async Task<JobStatus> WaitAsync(string jobId, CancellationToken cancellationToken)
    {
        while (true)
        {
            long started = Stopwatch.GetTimestamp();
            try
            {
                var response = await client.WaitAsync(new WaitRequest { JobId = jobId }, cancellationToken: cancellationToken).ConfigureAwait(false);
                return response.Status
                    ?? throw new CliException(ExitCodes.Failure, $"the server answered the wait for job {jobId} without its status");
            }
            catch (Exception e) when (CanReconnect(e, cancellationToken))
            {
                await ReconnectAsync(jobId, e, progressed: Stopwatch.GetElapsedTime(started) >= Healthy, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Copies output until the job has ended; returns its final status.</summary>
    public async Task<JobStatus> FollowAsync(JobOutputWriter writer, LogsRequest request, CancellationToken cancellationToken) =>
        await CopyAsync(writer, request, cancellationToken).ConfigureAwait(false)
            ?? throw new CliException(ExitCodes.Failure, $"the log stream of job {request.JobId} ended before the job did");

    /// <summary>
    /// Copies what the server sends through <paramref name="writer"/> (all output so far, for a
    /// request with <c>no_follow</c>); the final status if it came. The request's offsets end where
    /// the copy did.
    /// </summary>
    public async Task<JobStatus?> CopyAsync(JobOutputWriter writer, LogsRequest request, CancellationToken cancellationToken, Action<OutputChunk>? collect = null)
    {
        while (true)
        {
            long started = Stopwatch.GetTimestamp();
            var from = (request.StdoutOffset, request.StderrOffset);
            Exception failure;
            try
            {
                var end = await writer.CopyAsync(client, request, cancellationToken, collect).ConfigureAwait(false);
                _reached = true;
                if (end is not null || request.NoFollow)
                {
                    return end;
                }

                // A follow ends with the job's end; one closed before it was cut short by the server
                // (a gateway that stops), and goes on like a broken one.
                failure = new CliException(ExitCodes.Failure, $"the log stream of job {request.JobId} ended before the job did");
                if (reconnectFor <= TimeSpan.Zero)
                {
                    throw failure;
                }
            }
            catch (Exception e) when (CanReconnect(e, cancellationToken))
            {
                failure = e;
            }

            bool progressed = from != (request.StdoutOffset, request.StderrOffset) || Stopwatch.GetElapsedTime(started) >= Healthy;
            await ReconnectAsync(request.JobId, failure, progressed, cancellationToken).ConfigureAwait(false);
        }
    }

    private bool CanReconnect(Exception exception, CancellationToken cancellationToken) =>
        reconnectFor > TimeSpan.Zero
        && !cancellationToken.IsCancellationRequested
        && TransientFailures.IsTransient(exception)
        && (_reached || !TransientFailures.NeverReached(exception));

    /// <summary>
    /// Waits, with backoff, until the server answers a Ps of the job again, then says so on stderr;
    /// a command whose server stays away longer than the reconnect time fails with
    /// <see cref="ExitCodes.Connection"/>.
    /// </summary>
    private async Task ReconnectAsync(string jobId, Exception failure, bool progressed, CancellationToken cancellationToken)
    {
        _reached = true;
        if (progressed || _outageStart is null)
        {
            _outageStart = Stopwatch.GetTimestamp();
        }

        var backoff = FirstBackoff;
        var last = failure;
        while (true)
        {
            var remaining = reconnectFor - Stopwatch.GetElapsedTime(_outageStart.Value);
            if (remaining <= TimeSpan.Zero)
            {
                throw new CliException(
                    ExitCodes.Connection,
                    $"server unavailable: the connection to the server was lost and did not come back within {Durations.Format(reconnectFor)} (last error: {Describe(last)})",
                    last);
            }

            await Task.Delay(backoff < remaining ? backoff : remaining, cancellationToken).ConfigureAwait(false);
            backoff = backoff * 2 < MaxBackoff ? backoff * 2 : MaxBackoff;
            try
            {
                await client.PsAsync(new PsRequest { JobId = jobId }, deadline: DateTime.UtcNow + ProbeTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && IsStillAway(e))
            {
                last = e;
                continue;
            }

            var after = Stopwatch.GetElapsedTime(_outageStart.Value);
            console.WriteErrorLine(string.Create(CultureInfo.InvariantCulture, $"jobs: connection lost; reconnected after {after.TotalSeconds:0.0} s"));
            return;
        }
    }

    private static bool IsStillAway(Exception exception) =>
        TransientFailures.IsTransient(exception)
        || TransientFailures.ConnectTimedOut(exception)
        || exception is RpcException { StatusCode: StatusCode.DeadlineExceeded };

    private static string Describe(Exception exception) => exception switch
    {
        RpcException rpc when TransientFailures.FindTransportFailure(rpc) is { } transport => Innermost(transport).Message,
        RpcException rpc when rpc.Status.Detail.Length > 0 => $"{rpc.StatusCode}: {rpc.Status.Detail}",
        RpcException rpc => rpc.StatusCode.ToString(),
        _ => Innermost(exception).Message,
    };

    private static Exception Innermost(Exception exception)
    {
        var current = exception;
        while (current.InnerException is not null)
        {
            current = current.InnerException;
        }

        return current;
    }
}
