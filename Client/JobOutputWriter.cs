using Grpc.Core;
using Jobs.Protos;

namespace Jobs.Client;

/// <summary>Follows a job's <c>Logs</c> stream to its end, writing its bytes to this process's stdout and stderr.</summary>
internal sealed class JobOutputWriter(CliConsole console, Commands.OutputFormat format = Commands.OutputFormat.Text, bool timestamps = false)
{
    // With timestamps: whether the next byte of each stream starts a line.
    private readonly Dictionary<OutputStream, bool> _atLineStart = new() { [OutputStream.Stdout] = true, [OutputStream.Stderr] = true };

    /// <summary>
    /// Copies what the server sends (all output so far, for a request with <c>no_follow</c>); the
    /// final status if it came. With <paramref name="collect"/>, chunks go there instead of out, and
    /// the final status is returned without being written. The request's offsets advance past every
    /// chunk received, so that a broken stream resumes from them without a byte lost or repeated.
    /// </summary>
    public async Task<JobStatus?> CopyAsync(Protos.Jobs.JobsClient client, LogsRequest request, CancellationToken cancellationToken, Action<OutputChunk>? collect = null)
    {
        if (collect is null && format == Commands.OutputFormat.Text)
        {
            return await WriteOutAsync(client, request, cancellationToken).ConfigureAwait(false);
        }

        using var call = client.Logs(request.Clone(), cancellationToken: cancellationToken);
        await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            Advance(request, response);
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

            if (await WriteTextAsync(response, cancellationToken).ConfigureAwait(false) is { } end)
            {
                return end;
            }
        }

        return null;
    }

    // Text output, nothing kept: each chunk is written from the pooled buffer it was received into,
    // and the buffer goes back to the pool once written.
    private async Task<JobStatus?> WriteOutAsync(Protos.Jobs.JobsClient client, LogsRequest request, CancellationToken cancellationToken)
    {
        using var call = client.LogsPooled(request.Clone(), cancellationToken);
        await foreach (var pooled in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            using (pooled)
            {
                Advance(request, pooled.Response);
                if (await WriteTextAsync(pooled.Response, cancellationToken).ConfigureAwait(false) is { } end)
                {
                    return end;
                }
            }
        }

        return null;
    }

    // Shows one item as text: the end item is returned, not shown.
    private async Task<JobStatus?> WriteTextAsync(LogsResponse response, CancellationToken cancellationToken)
    {
        switch (response.ItemCase)
        {
            case LogsResponse.ItemOneofCase.Chunk:
                await WriteChunkAsync(response.Chunk, cancellationToken).ConfigureAwait(false);
                break;
            case LogsResponse.ItemOneofCase.Dropped:
                console.WriteErrorLine(StatusFormatter.DroppedNotice(response.Dropped));
                break;
            case LogsResponse.ItemOneofCase.End:
                return response.End;
            default:
                // An item kind from a newer server: nothing this client could show.
                break;
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

    /// <summary>
    /// The exit code a shell would report for the job: its own, or 128 + the signal that ended it;
    /// <see cref="ExitCodes.Lost"/> when its node left the cluster, whatever the job had done before.
    /// </summary>
    public static int ExitCodeOf(JobStatus status) => status.State switch
    {
        JobState.Exited => status.ExitCode,
        JobState.Killed => 128 + status.Signal,
        JobState.Lost => ExitCodes.Lost,
        _ => ExitCodes.Failure,
    };

    /// <summary>
    /// When the job's node left the cluster, says so on stderr (in every output format: stdout may
    /// hold the job's own bytes or JSON) and returns true.
    /// </summary>
    public bool ReportIfLost(string jobId, JobStatus? end)
    {
        if (end?.State != JobState.Lost)
        {
            return false;
        }

        console.WriteErrorLine(StatusFormatter.LostNotice(jobId, end));
        return true;
    }

    // A chunk is taken whole or not at all (a gRPC message), and a write that fails ends the command,
    // so advancing as soon as it arrives is exact. A drop moves the offsets to the first bytes held.
    private static void Advance(LogsRequest request, LogsResponse response)
    {
        switch (response.ItemCase)
        {
            case LogsResponse.ItemOneofCase.Chunk when response.Chunk.Stream == OutputStream.Stdout:
                request.StdoutOffset = Math.Max(request.StdoutOffset, response.Chunk.Offset + response.Chunk.Data.Length);
                break;
            case LogsResponse.ItemOneofCase.Chunk when response.Chunk.Stream == OutputStream.Stderr:
                request.StderrOffset = Math.Max(request.StderrOffset, response.Chunk.Offset + response.Chunk.Data.Length);
                break;
            case LogsResponse.ItemOneofCase.Dropped:
                request.StdoutOffset = Math.Max(request.StdoutOffset, response.Dropped.StdoutOffset);
                request.StderrOffset = Math.Max(request.StderrOffset, response.Dropped.StderrOffset);
                break;
        }
    }

    private async Task WriteChunkAsync(OutputChunk chunk, CancellationToken cancellationToken)
    {
        if (!timestamps)
        {
            await WriteBytesAsync(chunk.Stream, chunk.Data.Memory, cancellationToken).ConfigureAwait(false);
            return;
        }

        // Each line that starts in this chunk gets the chunk's time.
        var prefix = System.Text.Encoding.UTF8.GetBytes(
            (chunk.Time?.ToDateTime() ?? DateTime.UtcNow).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture) + " ");
        var data = chunk.Data.Memory;
        while (data.Length > 0)
        {
            if (_atLineStart[chunk.Stream])
            {
                await WriteBytesAsync(chunk.Stream, prefix, cancellationToken).ConfigureAwait(false);
            }

            int newline = data.Span.IndexOf((byte)'\n');
            int take = newline < 0 ? data.Length : newline + 1;
            await WriteBytesAsync(chunk.Stream, data[..take], cancellationToken).ConfigureAwait(false);
            _atLineStart[chunk.Stream] = newline >= 0;
            data = data[take..];
        }
    }

    private Task WriteBytesAsync(OutputStream stream, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) => stream switch
    {
        // Flushed per message so that a followed job's output shows up as it is produced.
        OutputStream.Stdout => console.WriteOutputAsync(bytes, cancellationToken),
        OutputStream.Stderr => console.WriteErrorAsync(bytes, cancellationToken),
        _ => throw new CliException(ExitCodes.Failure, $"the server sent output of unknown stream {(int)stream}"),
    };
}
