using System.Diagnostics;
using Grpc.Core;
using Jobs.Protos;

namespace Jobs.Client.Connection;

/// <summary>
/// The Run call, made again when it failed for the connection or the server's availability. Every
/// attempt carries the same request id, so a server that did start the job before the answer was
/// lost answers the retry with that job instead of starting another.
/// </summary>
internal static class RetriedRun
{
    // A few quick tries: enough for a gateway that restarts or a silo that is briefly away, short
    // enough that a server which is down is still reported within seconds.
    private const int Attempts = 4;
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(250);

    /// <summary>Makes a request id for one <c>run</c> invocation: every retry of it sends the same one.</summary>
    public static string NewRequestId() => Guid.CreateVersion7().ToString();

    /// <summary>Runs <paramref name="request"/> (whose request id must be set), retrying for up to <paramref name="within"/>; zero: once.</summary>
    public static async Task<RunResponse> RunAsync(Protos.Jobs.JobsClient client, RunRequest request, TimeSpan within, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var backoff = FirstBackoff;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await client.RunAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (attempt < Attempts
                && !cancellationToken.IsCancellationRequested
                && Stopwatch.GetElapsedTime(started) + backoff < within
                && (TransientFailures.IsTransient(e) || e is RpcException { StatusCode: StatusCode.DeadlineExceeded }))
            {
                await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
                backoff *= 2;
            }
        }
    }
}
