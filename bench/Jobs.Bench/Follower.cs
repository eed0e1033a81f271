using System.Diagnostics;
using System.Text;
using Grpc.Core;
using Jobs.Protos;

namespace Jobs.Bench;

/// <summary>
/// One <c>Logs</c> call on a flood job, checked as it arrives: stdout only, offsets continuous from 0,
/// every byte the pattern, no more bytes than the job writes, then an end message saying the job exited
/// with code 0 after exactly that many bytes. Times are read from a clock the scenario started.
/// </summary>
internal sealed class Follower(string name)
{
    private long _bytes;

    public string Name => name;

    /// <summary>Bytes received and checked so far (readable from other threads).</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    public long Messages { get; private set; }

    public TimeSpan? FirstByte { get; private set; }

    public TimeSpan? LastByte { get; private set; }

    public TimeSpan? EndReceived { get; private set; }

    public JobStatus? End { get; private set; }

    /// <summary>What was wrong with the output or the call; null when all was right.</summary>
    public string? Error { get; private set; }

    /// <summary>Stopped on purpose before the end (the slow follower).</summary>
    public bool Stopped { get; private set; }

    /// <summary>Bytes the server said it no longer held when this follower got to them (OutputDropped: the per-job cap).</summary>
    public long DroppedBytes { get; private set; }

    /// <summary>OutputDropped messages received.</summary>
    public int Drops { get; private set; }

    public bool Complete => Error is null && End is not null;

    /// <summary>The status the Logs call failed with; null when it did not fail (its output may still be wrong: see <see cref="Error"/>).</summary>
    public StatusCode? FailedWith { get; private set; }

    /// <summary>When the last byte came, or the end message when no byte did (all of it dropped).</summary>
    public TimeSpan LastByteOrEnd => LastByte ?? EndReceived ?? TimeSpan.Zero;

    /// <summary>
    /// Follows <paramref name="jobId"/> to its end message. <paramref name="pace"/> (bytes per second, 0: none)
    /// delays each next read so the follower reads no faster. <paramref name="stop"/> ends the follow early
    /// without an error; <paramref name="cancellationToken"/> (the scenario's timeout) throws. Output the
    /// server says it dropped before the follower got to it (OutputDropped) is skipped and counted in
    /// <see cref="DroppedBytes"/>: not an error here, the scenario reports it.
    /// </summary>
    public Task FollowAsync(JobsClient client, string jobId, long expectedBytes, Stopwatch clock, double pace, CancellationToken cancellationToken, CancellationToken stop = default) =>
        FollowCoreAsync(client, jobId, expectedBytes, clock, pace, cancellationToken, stop);

    private async Task FollowCoreAsync(JobsClient client, string jobId, long expectedBytes, Stopwatch clock, double pace, CancellationToken cancellationToken, CancellationToken stop)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stop);
        var token = linked.Token;
        TimeSpan started = clock.Elapsed;
        long next = 0;
        // Bounded: every chunk but empty ones advances toward expectedBytes, which is checked below.
        long messageLimit = expectedBytes + 10_000;
        try
        {
            using var call = client.Logs(new LogsRequest { JobId = jobId }, cancellationToken: token);
            var responses = call.ResponseStream;
            while (await responses.MoveNext(token))
            {
                var item = responses.Current;
                if (++Messages > messageLimit)
                {
                    Error = $"more than {messageLimit} messages";
                    return;
                }

                if (item.ItemCase == LogsResponse.ItemOneofCase.End)
                {
                    EndReceived = clock.Elapsed;
                    End = item.End;
                    CheckEnd(next, expectedBytes);
                    return;
                }

                if (item.ItemCase == LogsResponse.ItemOneofCase.Dropped)
                {
                    var dropped = item.Dropped;
                    if (dropped.StdoutOffset < next || dropped.StdoutOffset > expectedBytes || dropped.StderrOffset != 0)
                    {
                        Error = $"OutputDropped to stdout offset {dropped.StdoutOffset} and stderr offset {dropped.StderrOffset} after {next} bytes";
                        return;
                    }

                    Drops++;
                    DroppedBytes += dropped.StdoutOffset - next;
                    next = dropped.StdoutOffset;
                    continue;
                }

                if (item.ItemCase != LogsResponse.ItemOneofCase.Chunk)
                {
                    // Anything else (an item this bench does not know, such as dropped output) means
                    // the follower did not get every byte.
                    Error = $"unexpected {item.ItemCase} message after {next} bytes: {Preview(item.ToString())}";
                    return;
                }

                var chunk = item.Chunk;
                var data = chunk.Data.Span;
                if (chunk.Stream != OutputStream.Stdout)
                {
                    Error = $"unexpected {chunk.Stream} output at offset {chunk.Offset}: \"{Preview(data)}\"";
                    return;
                }

                if (chunk.Offset != next)
                {
                    Error = $"chunk at offset {chunk.Offset}, expected {next} (not continuous)";
                    return;
                }

                if (data.Length > expectedBytes - next)
                {
                    Error = $"more than the {expectedBytes} bytes the job writes (chunk of {data.Length} at {next})";
                    return;
                }

                if (!PatternChecker.Matches(next, data, out long mismatch))
                {
                    Error = $"byte at offset {mismatch} differs from the pattern";
                    return;
                }

                next += data.Length;
                Volatile.Write(ref _bytes, _bytes + data.Length);
                var now = clock.Elapsed;
                FirstByte ??= now;
                LastByte = now;

                if (pace > 0)
                {
                    var due = started + TimeSpan.FromSeconds(next / pace);
                    var wait = due - clock.Elapsed;
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, token);
                    }
                }
            }

            Error = $"the call ended without an end message after {next} bytes";
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException && stop.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            Stopped = true;
        }
        catch (RpcException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (RpcException e)
        {
            FailedWith = e.StatusCode;
            Error = $"Logs failed after {next} bytes: {e.StatusCode} {e.Status.Detail}";
        }
    }

    /// <summary>One line: bytes, times, end.</summary>
    public string Describe()
    {
        var text = new StringBuilder($"{Bytes} bytes in {Messages} messages");
        if (FirstByte is { } first)
        {
            text.Append($", first byte {Units.Seconds(first)}");
        }

        if (LastByte is { } last)
        {
            text.Append($", last byte {Units.Seconds(last)}");
        }

        if (EndReceived is { } end)
        {
            text.Append($", end message {Units.Seconds(end)} ({StatusText.Of(End)})");
        }

        if (Drops > 0)
        {
            text.Append($", {DroppedBytes} bytes dropped by the server in {Drops} OutputDropped message(s)");
        }

        if (Stopped)
        {
            text.Append(", stopped");
        }

        if (Error is not null)
        {
            text.Append($", ERROR: {Error}");
        }

        return text.ToString();
    }

    private void CheckEnd(long received, long expectedBytes)
    {
        var end = End!;
        if (received != expectedBytes)
        {
            Error = $"end message at offset {received}, expected {expectedBytes}";
        }
        else if (end.State != JobState.Exited || end.ExitCode != 0)
        {
            Error = $"the job ended {StatusText.Of(end)}, expected EXITED code 0";
        }
        else if (end.StdoutBytes != expectedBytes || end.StderrBytes != 0)
        {
            Error = $"the end status counts {end.StdoutBytes} stdout and {end.StderrBytes} stderr bytes, expected {expectedBytes} and 0";
        }
    }

    private static string Preview(ReadOnlySpan<byte> data) =>
        Encoding.UTF8.GetString(data[..Math.Min(data.Length, 200)]).ReplaceLineEndings(" ");

    private static string Preview(string text) => text.Length <= 200 ? text : text[..200] + "...";
}
