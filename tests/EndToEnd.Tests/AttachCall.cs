using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Jobs.Protos;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// One Attach call as a third-party client makes it from jobs.proto alone: the start message, then
/// input, resizes, end of input and detach, while everything the server sends is collected.
/// </summary>
public sealed class AttachCall : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly AsyncDuplexStreamingCall<AttachRequest, AttachResponse> _call;
    private readonly MemoryStream _stdout = new();
    private readonly MemoryStream _stderr = new();
    private readonly List<AttachResponse> _messages = [];
    private readonly Task _reading;
    private readonly SemaphoreSlim _changed = new(0);
    private readonly Lock _gate = new();
    private long? _stdoutStart;
    private long? _stderrStart;

    private AttachCall(AsyncDuplexStreamingCall<AttachRequest, AttachResponse> call)
    {
        _call = call;
        _reading = ReadAsync();
    }

    /// <summary>The first answer: the job's status and whether this attach writes its stdin.</summary>
    public Attached Attached { get; private set; } = null!;

    /// <summary>The job's final status once it came (the call's last message).</summary>
    public JobStatus? End => Messages.LastOrDefault(m => m.ItemCase == AttachResponse.ItemOneofCase.End)?.End;

    public IReadOnlyList<AttachResponse> Messages
    {
        get
        {
            lock (_gate)
            {
                return [.. _messages];
            }
        }
    }

    public byte[] Stdout
    {
        get
        {
            lock (_gate)
            {
                return _stdout.ToArray();
            }
        }
    }

    public string StdoutText => Encoding.UTF8.GetString(Stdout);

    public byte[] Stderr
    {
        get
        {
            lock (_gate)
            {
                return _stderr.ToArray();
            }
        }
    }

    /// <summary>Completes when the server has ended the call; faults with its status when that was an error.</summary>
    public Task Completion => _reading;

    public static async Task<AttachCall> StartAsync(Protos.Jobs.JobsClient client, string jobId, bool stdin = true, bool replay = true, CancellationToken cancellationToken = default)
    {
        var call = client.Attach(cancellationToken: cancellationToken);
        await StreamingCalls.WriteFirstAsync(call, new AttachRequest { Start = new AttachStart { JobId = jobId, Stdin = stdin, Replay = replay } }, cancellationToken);
        var attach = new AttachCall(call);
        try
        {
            // A refusal (NOT_FOUND, RESOURCE_EXHAUSTED, UNAUTHENTICATED) comes out of the read, with its status.
            await attach.WaitForAsync(a => a.Attached is not null, "the Attached message");
            return attach;
        }
        catch
        {
            await attach.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends bytes as one input message; completes once the transport took them (HTTP/2 flow control may hold it).</summary>
    public Task SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        _call.RequestStream.WriteAsync(new AttachRequest { Input = ByteString.CopyFrom(data.Span) }, cancellationToken);

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public Task ResizeAsync(int rows, int columns) =>
        _call.RequestStream.WriteAsync(new AttachRequest { Resize = new TerminalSize { Rows = (uint)rows, Columns = (uint)columns } });

    public Task EndInputAsync() => _call.RequestStream.WriteAsync(new AttachRequest { EndOfInput = new EndOfInput() });

    public Task DetachAsync() => _call.RequestStream.WriteAsync(new AttachRequest { Detach = new Detach() });

    public Task SendRawAsync(AttachRequest request) => _call.RequestStream.WriteAsync(request);

    /// <summary>Closes the client's side: no more requests.</summary>
    public Task CompleteAsync() => _call.RequestStream.CompleteAsync();

    /// <summary>Waits until the job's stdout (the terminal) holds <paramref name="text"/>.</summary>
    public Task WaitForOutputAsync(string text) => WaitForAsync(a => a.StdoutText.Contains(text, StringComparison.Ordinal), $"'{text}' in the output");

    public async Task WaitForAsync(Func<AttachCall, bool> condition, string what)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (!condition(this))
        {
            if (_reading.IsCompleted && !condition(this))
            {
                await _reading;
                throw new InvalidOperationException($"the attach ended without {what}; output so far: {StdoutText}");
            }

            try
            {
                await _changed.WaitAsync(TimeSpan.FromMilliseconds(200), timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no {what} within {Patience}; output so far: {StdoutText}; messages: {string.Join(", ", Messages.Select(m => m.ItemCase))}");
            }
        }
    }

    /// <summary>Waits for the server to end the call; returns the final status if the job ended.</summary>
    public async Task<JobStatus?> FinishAsync()
    {
        await _reading.WaitAsync(Patience);
        return End;
    }

    public async ValueTask DisposeAsync()
    {
        _call.Dispose();
        try
        {
            await _reading.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception)
        {
            // Cancelled by the dispose, or already reported by the test.
        }
    }

    private async Task ReadAsync()
    {
        await foreach (var message in _call.ResponseStream.ReadAllAsync())
        {
            lock (_gate)
            {
                _messages.Add(message);
                if (message.ItemCase == AttachResponse.ItemOneofCase.Attached)
                {
                    Attached = message.Attached;
                }
                else if (message.ItemCase == AttachResponse.ItemOneofCase.Chunk)
                {
                    bool stderr = message.Chunk.Stream == OutputStream.Stderr;
                    var target = stderr ? _stderr : _stdout;

                    // Without replay the first chunk starts wherever the job had got to; then every byte follows in order.
                    long expected;
                    if (stderr)
                    {
                        expected = _stderrStart ??= message.Chunk.Offset;
                    }
                    else
                    {
                        expected = _stdoutStart ??= message.Chunk.Offset;
                    }

                    if (message.Chunk.Offset != expected + target.Length)
                    {
                        throw new InvalidOperationException($"chunk at offset {message.Chunk.Offset} of {message.Chunk.Stream}, after {target.Length} bytes from {expected}");
                    }

                    target.Write(message.Chunk.Data.Span);
                }
            }

            _changed.Release();
        }

        _changed.Release();
    }
}
