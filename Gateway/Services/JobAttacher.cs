using Grpc.Core;
using Jobs.Gateway.Security;
using Jobs.Grains;
using Jobs.Protos;
using Microsoft.Extensions.Options;

namespace Jobs.Gateway.Services;

/// <summary>
/// The <c>Attach</c> call: a job's output from now on (or from the first byte) as <c>Logs</c> sends
/// it, and the attach's input, resizes, end of input and detach handed to the job's grain. One
/// request is read at a time, and the next only once the job took this one's input: a job that does
/// not read its stdin stops the client through HTTP/2 flow control, and nothing waits here unbounded.
/// </summary>
public sealed class JobAttacher(
    IClusterClient client,
    JobOutputFollower follower,
    FollowerCounts followers,
    ServerStopping stopping,
    IOptions<GatewayOptions> gateway,
    AuditLog audit)
{
    // Input goes to the grain in pieces no larger than the platform's buffer, so that each is taken whole.
    private const int InputPiece = 64 * 1024;

    public async Task AttachAsync(IAsyncStreamReader<AttachRequest> requests, IServerStreamWriter<AttachResponse> responses, ServerCallContext context)
    {
        using var call = stopping.Link(context.CancellationToken);
        if (!await requests.MoveNext(call.Token) || requests.Current.ItemCase != AttachRequest.ItemOneofCase.Start)
        {
            throw new InvalidRequestException("an Attach starts with an AttachStart message (job_id, stdin, replay)");
        }

        var start = requests.Current.Start;
        string jobId = JobIds.Parse(start.JobId);
        var caller = Caller.Of(context);
        string session = Guid.NewGuid().ToString("N");
        IJobGrain grain;
        IDisposable slot;
        AttachResult attached;
        try
        {
            (grain, _) = await JobAccess.OwnedAsync(client, jobId, caller);
            slot = followers.TryEnter(caller.Name, gateway.Value.Limits.MaxFollowersPerIdentity)
                ?? throw new RpcException(new Status(
                    StatusCode.ResourceExhausted,
                    $"'{caller.Name}' already follows or attaches to {gateway.Value.Limits.MaxFollowersPerIdentity} jobs on this gateway, the most allowed (Gateway:Limits:MaxFollowersPerIdentity)"));
        }
        catch (Exception e)
        {
            Audit("Attach", caller, jobId, e, context);
            throw;
        }

        using var counted = GatewayMetrics.Follower();
        using (slot)
        {
            try
            {
                attached = await grain.AttachAsync(session, start.Stdin);
            }
            catch (Exception e)
            {
                Audit("Attach", caller, jobId, e, context);
                throw;
            }

            Audit("Attach", caller, jobId, StatusCode.OK, attached.Input ? "stdin" : "watch", context);
            await RelayAsync(grain, session, jobId, start.Replay ? 0 : attached.Position, attached, requests, responses, caller, context, call.Token);
        }
    }

    private async Task RelayAsync(
        IJobGrain grain, string session, string jobId, long position, AttachResult attached, IAsyncStreamReader<AttachRequest> requests,
        IServerStreamWriter<AttachResponse> responses, Caller caller, ServerCallContext context, CancellationToken cancellationToken)
    {
        var writer = new AttachWriter(responses);
        string ended = "connection closed";
        using var output = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var input = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task sending = Task.CompletedTask;
        Task<bool> reading = Task.FromResult(false);
        try
        {
            await writer.WriteAsync(new AttachResponse { Attached = new Attached { Status = attached.Status.ToProto(), Input = attached.Input } }, flush: true, cancellationToken);
            sending = SendOutputAsync(jobId, position, writer, output.Token);
            reading = ReadInputAsync(grain, session, attached.Input, requests, writer, input.Token);
            if (await Task.WhenAny(sending, reading) == reading && await reading)
            {
                // Detach: the output stops where it is, and the answer is the call's last message.
                await output.CancelAsync();
                await WaitQuietly(sending);
                await writer.WriteAsync(new AttachResponse { Detached = new Detached() }, flush: true, cancellationToken);
                ended = "detach";
                return;
            }

            // The job ended and all its output went out; or the client closed its side and watches to the end.
            await sending;
            ended = "job ended";
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            ended = $"failed: {e.Message}";
            throw;
        }
        finally
        {
            // Neither side may outlive the call: both are stopped, and waited for, whatever ended it.
            await output.CancelAsync();
            await input.CancelAsync();
            await WaitQuietly(sending);
            await WaitQuietly(reading);
            try
            {
                await grain.DetachAsync(session);
            }
            catch (Exception e) when (NodeFaults.IsTransient(e) || e is TimeoutException)
            {
                // The job's node is gone or slow: its stdin goes to whichever attach asks next.
            }

            Audit("Detach", caller, jobId, StatusCode.OK, ended, context);
        }
    }

    private async Task SendOutputAsync(string jobId, long position, AttachWriter writer, CancellationToken cancellationToken)
    {
        // All streams, from the position: the selection keeps the offsets reached for drop notices.
        var selection = OutputSelection.From(new LogsRequest { JobId = jobId });
        await foreach (var item in follower.FollowLiveAsync(jobId, position, cancellationToken))
        {
            var response = item switch
            {
                { Output: { } record } => selection.Select(record) is { } selected ? new AttachResponse { Chunk = selected.ToProto() } : null,
                { Dropped: { } resume } => selection.Dropped(resume, item.Gap) is { } dropped ? new AttachResponse { Dropped = dropped } : null,
                { End: { } end } => new AttachResponse { End = end.ToProto() },
                _ => null,
            };
            if (response is not null)
            {
                await writer.WriteAsync(response, flush: !item.More, cancellationToken);
            }
        }
    }

    // Returns true on Detach; false when the client closed its side (it watches on to the job's end).
    private static async Task<bool> ReadInputAsync(IJobGrain grain, string session, bool holds, IAsyncStreamReader<AttachRequest> requests, AttachWriter writer, CancellationToken cancellationToken)
    {
        bool asked = holds;
        while (await requests.MoveNext(cancellationToken))
        {
            var request = requests.Current;
            switch (request.ItemCase)
            {
                case AttachRequest.ItemOneofCase.Input:
                    if (!asked)
                    {
                        throw new InvalidRequestException("this attach watches only (AttachStart.stdin was false, or the job's stdin was closed at the attach): its input is not delivered");
                    }

                    holds = holds && await WriteAsync(grain, session, request.Input.Memory, writer, cancellationToken);
                    break;
                case AttachRequest.ItemOneofCase.Resize:
                    var size = new JobTerminal((int)Math.Min(request.Resize.Rows, int.MaxValue), (int)Math.Min(request.Resize.Columns, int.MaxValue));
                    if (!size.IsValid)
                    {
                        throw new InvalidRequestException($"a terminal size is 1-65535 rows and columns, not {request.Resize.Rows}x{request.Resize.Columns}");
                    }

                    holds = holds && await StillHeldAsync(await grain.ResizeAsync(session, size), writer, cancellationToken);
                    break;
                case AttachRequest.ItemOneofCase.EndOfInput:
                    holds = holds && await StillHeldAsync(await grain.EndInputAsync(session), writer, cancellationToken);
                    break;
                case AttachRequest.ItemOneofCase.Detach:
                    return true;
                case AttachRequest.ItemOneofCase.Start:
                    throw new InvalidRequestException("AttachStart comes once, first");
                default:
                    throw new InvalidRequestException("an AttachRequest carries one of start, input, resize, end_of_input or detach");
            }
        }

        return false;
    }

    // Hands the input over piece by piece, each again until the job has room for it; false once this
    // attach no longer holds the job's stdin (the rest is not delivered).
    private static async Task<bool> WriteAsync(IJobGrain grain, string session, ReadOnlyMemory<byte> input, AttachWriter writer, CancellationToken cancellationToken)
    {
        for (int offset = 0; offset < input.Length; offset += InputPiece)
        {
            byte[] piece = input.Slice(offset, Math.Min(InputPiece, input.Length - offset)).ToArray();
            InputResult result;
            do
            {
                cancellationToken.ThrowIfCancellationRequested();
                result = await grain.WriteInputAsync(session, piece);
            }
            while (result == InputResult.Full);

            if (!await StillHeldAsync(result, writer, cancellationToken))
            {
                return false;
            }
        }

        return true;
    }

    private static async Task<bool> StillHeldAsync(InputResult result, AttachWriter writer, CancellationToken cancellationToken)
    {
        if (result == InputResult.NotHolder)
        {
            await writer.WriteAsync(new AttachResponse { InputMoved = new InputMoved() }, flush: true, cancellationToken);
        }

        // Closed: end of input was sent, or the job ended (its end comes with the output).
        return result == InputResult.Accepted;
    }

    // Waits for a side that was stopped; its failure, if it failed, was the call's (or is moot once the call ended).
    private static async Task WaitQuietly(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception)
        {
        }
    }

    // Written here, not by CallerInterceptor, which cannot see a duplex call's job (it comes in the
    // first message). A refusal is audited with the status the caller gets for it.
    private void Audit(string what, Caller caller, string jobId, Exception refusal, ServerCallContext context) =>
        Audit(what, caller, jobId, refusal switch
        {
            RpcException rpc => rpc.StatusCode,
            JobNotFoundException => StatusCode.NotFound,
            JobHasNoStdinException => StatusCode.FailedPrecondition,
            _ => StatusCode.Unknown,
        }, refusal.Message, context);

    private void Audit(string what, Caller caller, string jobId, StatusCode outcome, string detail, ServerCallContext context) =>
        audit.Write(what, caller.Name, jobId, null, null, outcome, detail, context.Peer);

    // The output and the input side both answer on the one response stream, which takes one write at a time.
    private sealed class AttachWriter(IServerStreamWriter<AttachResponse> responses)
    {
        private static readonly WriteOptions Buffered = new(WriteFlags.BufferHint);
        private readonly SemaphoreSlim _gate = new(1, 1);

        public async Task WriteAsync(AttachResponse response, bool flush, CancellationToken cancellationToken)
        {
            await _gate.WaitAsync(cancellationToken);
            try
            {
                responses.WriteOptions = flush ? null : Buffered;
                await responses.WriteAsync(response, cancellationToken);
            }
            finally
            {
                _gate.Release();
            }
        }
    }
}
