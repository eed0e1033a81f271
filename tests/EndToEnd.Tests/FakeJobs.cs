using System.Collections.Concurrent;
using Grpc.Core;
using Jobs.Protos;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// The Jobs service as a test scripts it: every job call answers with <see cref="Status"/>, Nodes
/// with the answers given, Drain with <see cref="DrainAnswer"/> or <see cref="DrainRefusal"/>; what
/// the CLI sent is kept. Calls it does not script are UNIMPLEMENTED.
/// </summary>
public sealed class FakeJobs : Protos.Jobs.JobsBase
{
    private readonly Lock _gate = new();
    private readonly Queue<NodesResponse> _nodes = new();
    private NodesResponse _lastNodes = new();
    private readonly TaskCompletionSource _nodesCalled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _nodesCalls;

    /// <summary>The one job: Run answers with its id, Ps, Wait and List with it, and Logs ends with it.</summary>
    public JobStatus Status { get; set; } = new();

    /// <summary>Output that Logs sends before the end.</summary>
    public IReadOnlyList<OutputChunk> Output { get; set; } = [];

    public DrainResponse DrainAnswer { get; set; } = new();

    /// <summary>When set, what Drain fails with.</summary>
    public RpcException? DrainRefusal { get; set; }

    public ConcurrentQueue<RunRequest> Runs { get; } = new();

    /// <summary>How many Run calls fail (UNAVAILABLE) before Run answers; each is kept in <see cref="Runs"/>.</summary>
    public int RunFailures { get; set; }

    /// <summary>When set, what Ps fails with.</summary>
    public RpcException? PsRefusal { get; set; }

    /// <summary>The deadline of each Kill call as the server saw it (<see cref="DateTime.MaxValue"/>: none).</summary>
    public ConcurrentQueue<(KillRequest Request, DateTime Deadline)> Kills { get; } = new();

    public ConcurrentQueue<DrainRequest> Drains { get; } = new();

    /// <summary>What Attach ends with after end of input; <see cref="Status"/> when unset.</summary>
    public JobStatus? AttachEnd { get; set; }

    /// <summary>Every request of every Attach call, AttachStart first.</summary>
    public ConcurrentQueue<AttachRequest> AttachRequests { get; } = new();

    public int NodesCalls => Volatile.Read(ref _nodesCalls);

    /// <summary>How many Nodes calls fail (UNAVAILABLE) before the scripted answers begin.</summary>
    public int NodesFailures { get; set; }

    /// <summary>Completes at the first Nodes call.</summary>
    public Task NodesCalled => _nodesCalled.Task;

    /// <summary>Each Nodes call takes the next answer; the last one repeats.</summary>
    public void AnswerNodes(params NodesResponse[] answers)
    {
        lock (_gate)
        {
            foreach (var answer in answers)
            {
                _nodes.Enqueue(answer);
            }
        }
    }

    public override Task<RunResponse> Run(RunRequest request, ServerCallContext context)
    {
        Runs.Enqueue(request);
        if (Runs.Count <= RunFailures)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "the silo is not reachable"));
        }

        return Task.FromResult(new RunResponse { JobId = Status.JobId });
    }

    public override Task<KillResponse> Kill(KillRequest request, ServerCallContext context)
    {
        Kills.Enqueue((request, context.Deadline));
        return Task.FromResult(new KillResponse { Status = Status });
    }

    public override async Task Logs(LogsRequest request, IServerStreamWriter<LogsResponse> responseStream, ServerCallContext context)
    {
        foreach (var chunk in Output)
        {
            await responseStream.WriteAsync(new LogsResponse { Chunk = chunk }, context.CancellationToken);
        }

        await responseStream.WriteAsync(new LogsResponse { End = Status }, context.CancellationToken);
    }

    /// <summary>
    /// Attach as a job running <c>cat</c> would answer it: Attached with <see cref="Status"/> (input
    /// when asked for and <c>Status.Stdin</c>), each input back as stdout, and <see cref="AttachEnd"/> as
    /// the end once the input ends (at once for a job that is not running); Detach is answered with Detached.
    /// </summary>
    public override async Task Attach(IAsyncStreamReader<AttachRequest> requestStream, IServerStreamWriter<AttachResponse> responseStream, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        if (!await requestStream.MoveNext(cancellationToken) || requestStream.Current.ItemCase != AttachRequest.ItemOneofCase.Start)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "the first request of an attach must be AttachStart"));
        }

        AttachRequests.Enqueue(requestStream.Current);
        bool input = requestStream.Current.Start.Stdin && Status.Stdin;
        await responseStream.WriteAsync(new AttachResponse { Attached = new Attached { Status = Status, Input = input } }, cancellationToken);
        if (Status.State != JobState.Running)
        {
            await responseStream.WriteAsync(new AttachResponse { End = Status }, cancellationToken);
            return;
        }

        long offset = 0;
        while (await requestStream.MoveNext(cancellationToken))
        {
            var request = requestStream.Current;
            AttachRequests.Enqueue(request);
            switch (request.ItemCase)
            {
                case AttachRequest.ItemOneofCase.Input when input:
                    await responseStream.WriteAsync(new AttachResponse { Chunk = new OutputChunk { Stream = OutputStream.Stdout, Offset = offset, Data = request.Input } }, cancellationToken);
                    offset += request.Input.Length;
                    break;
                case AttachRequest.ItemOneofCase.EndOfInput when input:
                    await responseStream.WriteAsync(new AttachResponse { End = AttachEnd ?? Status }, cancellationToken);
                    return;
                case AttachRequest.ItemOneofCase.Detach:
                    await responseStream.WriteAsync(new AttachResponse { Detached = new Detached() }, cancellationToken);
                    return;
            }
        }
    }

    public override Task<PsResponse> Ps(PsRequest request, ServerCallContext context) =>
        PsRefusal is { } refusal ? Task.FromException<PsResponse>(refusal) : Task.FromResult(new PsResponse { Status = Status });

    public override Task<WaitResponse> Wait(WaitRequest request, ServerCallContext context) =>
        Task.FromResult(new WaitResponse { Status = Status });

    public override Task<ListResponse> List(ListRequest request, ServerCallContext context) =>
        Task.FromResult(new ListResponse { Jobs = { Status } });

    public override Task<NodesResponse> Nodes(NodesRequest request, ServerCallContext context)
    {
        int call = Interlocked.Increment(ref _nodesCalls);
        _nodesCalled.TrySetResult();
        if (call <= NodesFailures)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "the silo is not reachable"));
        }

        NodesResponse answer;
        lock (_gate)
        {
            if (_nodes.TryDequeue(out var next))
            {
                _lastNodes = next;
            }

            answer = _lastNodes;
        }

        return Task.FromResult(answer);
    }

    public override Task<DrainResponse> Drain(DrainRequest request, ServerCallContext context)
    {
        Drains.Enqueue(request);
        return DrainRefusal is { } refusal ? Task.FromException<DrainResponse>(refusal) : Task.FromResult(DrainAnswer);
    }
}
