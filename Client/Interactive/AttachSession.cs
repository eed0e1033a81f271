using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using Jobs.Protos;

namespace Jobs.Client.Interactive;

/// <summary>
/// One Attach call: the job's output to <see cref="AttachOutput"/> and, when it writes, this
/// process's stdin to the job, with resizes and detach keys when the person types in a terminal.
/// </summary>
/// <remarks>
/// Stdin is read on a thread of its own, since a read blocks until a key or the end of a pipe: the
/// command can then end with the job without waiting for a key. What it reads goes through one
/// channel to one sender (a call takes one write at a time), at most <see cref="InputsInFlight"/>
/// pieces ahead of what the call took: when the server stops reading, because the job does not
/// read its stdin, HTTP/2 flow control stops the sender, the reader thread stops reading, and the
/// program writing into this CLI's stdin blocks in its turn, with nothing lost on the way.
/// </remarks>
internal sealed class AttachSession
{
    private const int ReadBytes = 32 * 1024;
    private const int InputsInFlight = 4;

    // A server that does not answer Detach must not keep the person waiting.
    private static readonly TimeSpan DetachAnswerTimeout = TimeSpan.FromSeconds(5);

    private readonly Protos.Jobs.JobsClient _client;
    private readonly AttachStart _start;
    private readonly AttachOutput _output;
    private readonly LocalTerminal? _terminal;
    private readonly byte[]? _detachKeys;
    private readonly Channel<AttachRequest> _requests = Channel.CreateUnbounded<AttachRequest>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _inputRoom = new(InputsInFlight);
    private readonly CancellationTokenSource _detachTimeout = new();
    private volatile bool _inputMoved;
    private volatile bool _detachSent;

    /// <param name="client">The connection's client.</param>
    /// <param name="start">The attach's first request: job, stdin, replay.</param>
    /// <param name="output">Where output and notices go.</param>
    /// <param name="terminal">
    /// The local terminal in raw mode when the person types to the job's terminal: its size goes
    /// with the input, and <paramref name="detachKeys"/> are looked for; null for a pipe, whose end
    /// is sent as end of input and whose bytes all go through.
    /// </param>
    /// <param name="detachKeys">The detach sequence (with a terminal only).</param>
    public AttachSession(Protos.Jobs.JobsClient client, AttachStart start, AttachOutput output, LocalTerminal? terminal, byte[]? detachKeys)
    {
        _client = client;
        _start = start;
        _output = output;
        _terminal = terminal;
        _detachKeys = terminal is null ? null : detachKeys;
    }

    /// <summary>What the job's stdin is read from; the process's own stdin unless a test gives another.</summary>
    public Stream? Input { get; init; }

    /// <summary>Attaches and copies until the job ends or this side detaches.</summary>
    public async Task<AttachOutcome> RunAsync(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var responses = CancellationTokenSource.CreateLinkedTokenSource(stop.Token, _detachTimeout.Token);
        using var call = _client.Attach(cancellationToken: stop.Token);
        try
        {
            await call.RequestStream.WriteAsync(new AttachRequest { Start = _start }, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException) when (!cancellationToken.IsCancellationRequested)
        {
            // The server may refuse the call from its headers alone (a revoked certificate, the call
            // rate), before this first write arrives: the write then fails with a CANCELLED of the
            // client's own making, while the call's real status (UNAUTHENTICATED, say) is what the
            // read below reports. Reported as "cancelled", the refusal would hide its reason.
        }

        Task sender = Task.CompletedTask;
        IDisposable? resizes = null;
        try
        {
            if (!await call.ResponseStream.MoveNext(responses.Token).ConfigureAwait(false))
            {
                throw new CliException(ExitCodes.Failure, $"the server ended the attach to job {_start.JobId} before answering it");
            }

            var first = call.ResponseStream.Current;
            if (first.ItemCase == AttachResponse.ItemOneofCase.Attached)
            {
                if (_start.Stdin && !first.Attached.Input && first.Attached.Status?.State == JobState.Running)
                {
                    _output.Notice($"jobs: the stdin of job {_start.JobId} is closed; this attach only shows its output");
                }

                if (first.Attached.Input)
                {
                    sender = SendAsync(call.RequestStream, stop.Token);
                    if (_terminal is not null)
                    {
                        // The job's terminal takes this window's size, which may differ from the one it has.
                        Post(new AttachRequest { Resize = _terminal.Size });
                        resizes = _terminal.WatchResize(size => Post(new AttachRequest { Resize = size }));
                    }

                    StartReader(stop.Token);
                }
            }
            else if (await HandleAsync(first, stop.Token).ConfigureAwait(false) is { } early)
            {
                return early;
            }

            try
            {
                while (await call.ResponseStream.MoveNext(responses.Token).ConfigureAwait(false))
                {
                    if (await HandleAsync(call.ResponseStream.Current, stop.Token).ConfigureAwait(false) is { } outcome)
                    {
                        return outcome;
                    }
                }
            }
            catch (Exception e) when (_detachTimeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested && e is OperationCanceledException or RpcException)
            {
                return new AttachOutcome(End: null);
            }

            if (_detachSent)
            {
                return new AttachOutcome(End: null);
            }

            throw new CliException(ExitCodes.Failure, $"the attach to job {_start.JobId} ended before the job did");
        }
        finally
        {
            resizes?.Dispose();
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await sender.ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or RpcException or InvalidOperationException)
            {
                // The call is over: whatever was still queued has nowhere to go.
            }

            _detachTimeout.Dispose();
        }
    }

    private async Task<AttachOutcome?> HandleAsync(AttachResponse response, CancellationToken cancellationToken)
    {
        switch (response.ItemCase)
        {
            case AttachResponse.ItemOneofCase.Chunk:
                await _output.WriteAsync(response.Chunk, cancellationToken).ConfigureAwait(false);
                break;
            case AttachResponse.ItemOneofCase.Dropped:
                _output.Notice(StatusFormatter.DroppedNotice(response.Dropped));
                break;
            case AttachResponse.ItemOneofCase.InputMoved when !_inputMoved:
                _inputMoved = true;
                _output.Notice(_terminal is null
                    ? $"jobs: another attach took the input of job {_start.JobId}; this one only shows its output now"
                    : $"jobs: another attach took the input of job {_start.JobId}; this one only shows its output now (the detach keys still work)");
                break;
            case AttachResponse.ItemOneofCase.End:
                return new AttachOutcome(response.End);
            case AttachResponse.ItemOneofCase.Detached:
                return new AttachOutcome(End: null);
            default:
                // An item kind from a newer server: nothing this client could show.
                break;
        }

        return null;
    }

    private void StartReader(CancellationToken cancellationToken)
    {
        var input = Input ?? _terminal?.OpenInput() ?? OpenStdin();
        var thread = new Thread(() => ReadInput(input, cancellationToken))
        {
            IsBackground = true,
            Name = "jobs stdin",
        };
        thread.Start();
    }

    private static Stream OpenStdin() =>
        OperatingSystem.IsWindows()
            ? Console.OpenStandardInput()
            // Not Console's stream: on a terminal it would read through Console's line editor.
            : new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(0, ownsHandle: false), FileAccess.Read, bufferSize: 0);

    private void ReadInput(Stream input, CancellationToken cancellationToken)
    {
        var buffer = new byte[ReadBytes];
        var matcher = _detachKeys is { Length: > 0 } keys ? new DetachKeyMatcher(keys) : null;
        var pass = new List<byte>(ReadBytes);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                int read = input.Read(buffer, 0, buffer.Length);
                if (read == 0)
                {
                    if (!_inputMoved)
                    {
                        // A pipe's end is the job's end of input; a terminal that reads nothing more hung up.
                        Post(_terminal is null ? new AttachRequest { EndOfInput = new EndOfInput() } : new AttachRequest { Detach = new Detach() });
                    }

                    return;
                }

                bool detach = false;
                ReadOnlySpan<byte> data = buffer.AsSpan(0, read);
                if (matcher is not null)
                {
                    pass.Clear();
                    detach = matcher.Feed(data, pass);
                    data = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pass);
                }

                if (data.Length > 0 && !_inputMoved)
                {
                    // Room first: the queue holds a few pieces at most, whatever the job reads.
                    _inputRoom.Wait(cancellationToken);
                    Post(new AttachRequest { Input = ByteString.CopyFrom(data) });
                }

                if (detach)
                {
                    Post(new AttachRequest { Detach = new Detach() });
                    return;
                }

                if (_inputMoved && _terminal is null)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // The attach ended.
        }
        catch (IOException e)
        {
            _output.Notice($"jobs: cannot read stdin: {e.Message}");
            Post(new AttachRequest { Detach = new Detach() });
        }
    }

    private void Post(AttachRequest request) => _requests.Writer.TryWrite(request);

    private async Task SendAsync(IClientStreamWriter<AttachRequest> requests, CancellationToken cancellationToken)
    {
        // Never completed: closing the request side would detach, and after end of input the job
        // still has output to send.
        await foreach (var request in _requests.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            await requests.WriteAsync(request, cancellationToken).ConfigureAwait(false);
            switch (request.ItemCase)
            {
                case AttachRequest.ItemOneofCase.Input:
                    _inputRoom.Release();
                    break;
                case AttachRequest.ItemOneofCase.Detach:
                    _detachSent = true;
                    _detachTimeout.CancelAfter(DetachAnswerTimeout);
                    return;
            }
        }
    }
}
