using Grpc.Core;
using Jobs.Protos;

namespace Jobs.Client;

/// <summary>Follows a job's <c>Logs</c> stream to its end, writing its bytes to this process's stdout and stderr.</summary>
internal sealed class JobOutputWriter(CliConsole console, Commands.OutputFormat format = Commands.OutputFormat.Text)
{
    /// <summary>Copies output until the job has ended; returns its final status.</summary>
    public async Task<JobStatus> FollowAsync(Protos.Jobs.JobsClient client, LogsRequest request, CancellationToken cancellationToken) =>
        await CopyAsync(client, request, cancellationToken).ConfigureAwait(false)
            ?? throw new CliException(ExitCodes.Failure, $"the log stream of job {request.JobId} ended before the job did");

    /// <summary>
    /// Copies what the server sends (all output so far, for a request with <c>no_follow</c>); the
    /// final status if it came. With <paramref name="collect"/>, chunks go there instead of out, and
    /// the final status is returned without being written.
    /// </summary>
    public async Task<JobStatus?> CopyAsync(Protos.Jobs.JobsClient client, LogsRequest request, CancellationToken cancellationToken, Action<OutputChunk>? collect = null)
    {
        using var call = client.Logs(request, cancellationToken: cancellationToken);
        await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (collect is not null)
            {
                if (response.ItemCase == LogsResponse.ItemOneofCase.Chunk)
                {
                    collect(response.Chunk);
                }
                else if (response.ItemCase == LogsResponse.ItemOneofCase.End)
                {
                    return response.End;
                }

                continue;
            }

            if (format == Commands.OutputFormat.Json)
            {
                // NDJSON: every item as it comes, data in base64 (the protobuf JSON mapping of bytes).
                await console.WriteJsonAsync(response, cancellationToken).ConfigureAwait(false);
                if (response.ItemCase == LogsResponse.ItemOneofCase.End)
                {
                    return response.End;
                }

                continue;
            }

            switch (response.ItemCase)
            {
                case LogsResponse.ItemOneofCase.Chunk:
                    await WriteChunkAsync(response.Chunk, cancellationToken).ConfigureAwait(false);
                    break;
                case LogsResponse.ItemOneofCase.Dropped:
                    console.WriteErrorLine(
                        $"jobs: older output was dropped by the server's per-job cap; continuing from stdout offset {response.Dropped.StdoutOffset}, stderr offset {response.Dropped.StderrOffset}");
                    break;
                case LogsResponse.ItemOneofCase.End:
                    return response.End;
                default:
                    // An item kind from a newer server: nothing this client could show.
                    break;
            }
        }

        return null;
    }

    /// <summary>Writes chunks as the server would have sent them (raw bytes, or NDJSON).</summary>
    public async Task WriteChunksAsync(IEnumerable<OutputChunk> chunks, CancellationToken cancellationToken)
    {
        foreach (var chunk in chunks)
        {
            if (format == Commands.OutputFormat.Json)
            {
                await console.WriteJsonAsync(new LogsResponse { Chunk = chunk }, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await WriteChunkAsync(chunk, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>With JSON output, the end item a follow would have ended with; nothing in text.</summary>
    public async Task WriteEndAsync(JobStatus? end, CancellationToken cancellationToken)
    {
        if (end is not null && format == Commands.OutputFormat.Json)
        {
            await console.WriteJsonAsync(new LogsResponse { End = end }, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A follow that carries no output, only the final status: offsets past any end.</summary>
    public static LogsRequest StatusOnly(string jobId) =>
        new() { JobId = jobId, StdoutOffset = long.MaxValue, StderrOffset = long.MaxValue };

    /// <summary>The exit code a shell would report for the job: its own, or 128 + the signal that ended it.</summary>
    public static int ExitCodeOf(JobStatus status) => status.State switch
    {
        JobState.Exited => status.ExitCode,
        JobState.Killed => 128 + status.Signal,
        _ => ExitCodes.Failure,
    };

    private Task WriteChunkAsync(OutputChunk chunk, CancellationToken cancellationToken) => chunk.Stream switch
    {
        // Flushed per message so that a followed job's output shows up as it is produced.
        OutputStream.Stdout => console.WriteOutputAsync(chunk.Data.Memory, cancellationToken),
        OutputStream.Stderr => console.WriteErrorAsync(chunk.Data.Memory, cancellationToken),
        _ => throw new CliException(ExitCodes.Failure, $"the server sent output of unknown stream {(int)chunk.Stream}"),
    };
}
