using System.Diagnostics;
using Grpc.Core;
using Jobs.Protos;

namespace Jobs.Bench;

/// <summary>
/// One <c>Logs</c> call on a job whose bytes do not matter, kept open until the stream ends: when the first output
/// came (it is attached), when and how the stream ended (the end status, or the call's error). Times are read from a
/// clock the scenario started.
/// </summary>
internal sealed class EndFollower(string name)
{
    // A long job here writes a line or two; a stream sending many more messages is not one of them.
    private const int MessageLimit = 10_000;
    private readonly TaskCompletionSource _attached = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Name => name;

    /// <summary>Completes with the first output: the call is attached to the job.</summary>
    public Task Attached => _attached.Task;

    /// <summary>When the stream ended, by its end message or by an error.</summary>
    public TimeSpan? Ended { get; private set; }

    public JobStatus? End { get; private set; }

    /// <summary>How the call failed or misbehaved; null when it ended with an end message (or is still open).</summary>
    public string? Error { get; private set; }

    /// <summary>Follows <paramref name="jobId"/> until its stream ends; <paramref name="cancellationToken"/> (the scenario's) throws.</summary>
    public async Task FollowAsync(JobsClient client, string jobId, Stopwatch clock, CancellationToken cancellationToken)
    {
        try
        {
            using var call = client.Logs(new LogsRequest { JobId = jobId }, cancellationToken: cancellationToken);
            var responses = call.ResponseStream;
            int messages = 0;
            while (await responses.MoveNext(cancellationToken))
            {
                if (responses.Current.ItemCase == LogsResponse.ItemOneofCase.End)
                {
                    End = responses.Current.End;
                    return;
                }

                _attached.TrySetResult();
                if (++messages > MessageLimit)
                {
                    Error = $"more than {MessageLimit} messages without an end";
                    return;
                }
            }

            Error = "the call ended without an end message";
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            Error = $"Logs failed: {e.StatusCode} {e.Status.Detail}";
        }
        finally
        {
            Ended = clock.Elapsed;
            _attached.TrySetException(new InvalidOperationException($"{name} ended before any output: {Error ?? StatusText.Of(End)}"));
        }
    }
}
