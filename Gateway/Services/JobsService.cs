using Grpc.Core;
using Jobs.Gateway.Security;
using Jobs.Grains;
using Jobs.Protos;
using Orleans.Runtime.Placement;
using NodeStatus = Jobs.Grains.NodeStatus;

namespace Jobs.Gateway.Services;

/// <summary>The <c>jobs.v1.Jobs</c> service: translates calls to the job grains. Errors are mapped by <see cref="ErrorMappingInterceptor"/>.</summary>
public sealed class JobsService(
    IClusterClient client,
    JobOutputFollower follower,
    JobEndWaiter waiter,
    JobAttacher attacher,
    FollowerCounts followers,
    ServerStopping stopping,
    Microsoft.Extensions.Options.IOptions<JobOptions> options,
    Microsoft.Extensions.Options.IOptions<GatewayOptions> gateway)
    : Protos.Jobs.JobsBase
{
    public override async Task<RunResponse> Run(RunRequest request, ServerCallContext context)
    {
        RunRequestChecks.Check(request);
        if (string.IsNullOrWhiteSpace(request.Command))
        {
            throw new InvalidJobSpecException("the command is empty");
        }

        int size = RunBytes(request);
        int maxSize = gateway.Value.Limits.MaxRunBytes;
        if (size > maxSize)
        {
            throw new InvalidJobSpecException(
                $"the command, arguments, environment and working directory take {size} bytes; the most is {maxSize} (Gateway:Limits:MaxRunBytes)");
        }

        // Decided here, never by Orleans' placement by chance: the job's grain is placed on the
        // chosen silo (the placement hint) and refuses to start anywhere else.
        string? named = string.IsNullOrEmpty(request.Node) ? null : request.Node;
        var directory = client.GetGrain<INodeDirectoryGrain>(0);
        var node = await directory.PickAsync(named);
        var caller = Caller.Of(context);
        var spec = new JobSpec(request.Command, [.. request.Args])
        {
            Owner = caller.Name,
            OwnerIsAdmin = caller.IsAdmin,
            User = string.IsNullOrEmpty(request.User) ? null : request.User,
            WorkingDirectory = string.IsNullOrEmpty(request.Cwd) ? null : request.Cwd,
            Environment = request.Env.Count == 0 ? null : new Dictionary<string, string>(request.Env),
            Timeout = ProtoMapping.FromProto(request.Timeout, "timeout"),
            Limits = ProtoMapping.FromProto(request.Limits),
            Isolate = request.Isolate,
            RequestId = string.IsNullOrEmpty(request.RequestId) ? null : request.RequestId,
            Stdin = request.Stdin,
            Terminal = request.Terminal is { } terminal
                ? new JobTerminal((int)Math.Min(terminal.Rows, int.MaxValue), (int)Math.Min(terminal.Columns, int.MaxValue))
                : null,
        };
        try
        {
            return await StartOnAsync(node, spec);
        }
        catch (NodeUnavailableException) when (named is null)
        {
            // The placement view is up to a second old: the node it chose began to drain, or left,
            // since. Nothing was started there; choose again from what the nodes answer now.
            return await StartOnAsync(await directory.PickNowAsync(null), spec);
        }
    }

    private async Task<RunResponse> StartOnAsync(ClusterNode node, JobSpec spec)
    {
        string jobId = JobIds.New();
        RequestContext.Set(IPlacementDirector.PlacementHintKey, SiloAddress.FromParsableString(node.Address));
        Grains.JobStatus started;
        try
        {
            started = await client.GetGrain<IJobGrain>(jobId).StartAsync(spec with { Silo = node.Address });
        }
        catch (DuplicateRunException e)
        {
            // A retry of a Run that started its job already: that job is the answer.
            return new RunResponse { JobId = e.JobId };
        }
        finally
        {
            RequestContext.Remove(IPlacementDirector.PlacementHintKey);
        }

        return new RunResponse { JobId = jobId, User = started.User };
    }

    public override async Task Logs(LogsRequest request, IServerStreamWriter<LogsResponse> responseStream, ServerCallContext context)
    {
        string jobId = JobIds.Parse(request.JobId);
        var selection = OutputSelection.From(request);
        var (grain, _) = await OwnedAsync(jobId, context);
        var caller = Caller.Of(context);
        using var call = stopping.Link(context.CancellationToken);
        using var slot = followers.TryEnter(caller.Name, gateway.Value.Limits.MaxFollowersPerIdentity)
            ?? throw new RpcException(new Status(
                StatusCode.ResourceExhausted,
                $"'{caller.Name}' already follows {gateway.Value.Limits.MaxFollowersPerIdentity} jobs on this gateway, the most allowed (Gateway:Limits:MaxFollowersPerIdentity)"));
        using var counted = GatewayMetrics.Follower();
        // Writes take the call's own token: grpc-dotnet resets the stream (CANCELLED) when a write's
        // token fires, and a stopping server must end the call with UNAVAILABLE, which the loop's
        // token gives. A write the client does not take is cut a second into the stop.
        using var writes = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        using var cut = stopping.Token.Register(() => writes.CancelAfter(StuckWriteGrace));
        long start = await selection.StartPositionAsync(grain);
        var items = request.NoFollow
            ? follower.SnapshotAsync(jobId, start, call.Token)
            : follower.FollowAsync(jobId, start, call.Token);
        // What arrives together goes out in one flush: every write but the last of a batch is
        // buffered (grpc-dotnet flushes each write unless told otherwise), and a batch always ends
        // with a flush, so nothing waits for output that may never come.
        LogsResponse? pending = null;
        await foreach (var item in items)
        {
            var response = item switch
            {
                { Output: { } record } => selection.Select(record) is { } selected ? new LogsResponse { Chunk = selected.ToProto() } : null,
                { Dropped: { } resume } => selection.Dropped(resume, item.Gap) is { } dropped ? new LogsResponse { Dropped = dropped } : null,
                { End: { } end } => new LogsResponse { End = end.ToProto() },
                _ => null,
            };
            if (response is not null)
            {
                if (pending is not null)
                {
                    await WriteAsync(responseStream, pending, Buffered, writes.Token);
                }

                pending = response;
            }

            if (!item.More && pending is not null)
            {
                await WriteAsync(responseStream, pending, null, writes.Token);
                pending = null;
            }
        }

        // A snapshot ends quietly when cancelled: a stopping server says so rather than end the stream as if complete.
        call.Token.ThrowIfCancellationRequested();
        if (pending is not null)
        {
            await WriteAsync(responseStream, pending, null, writes.Token);
        }
    }

    private static readonly WriteOptions Buffered = new(WriteFlags.BufferHint);

    private static readonly TimeSpan StuckWriteGrace = TimeSpan.FromSeconds(1);

    private static Task WriteAsync(IServerStreamWriter<LogsResponse> stream, LogsResponse response, WriteOptions? options, CancellationToken cancellationToken)
    {
        stream.WriteOptions = options;
        return stream.WriteAsync(response, cancellationToken);
    }

    public override async Task<ListResponse> List(ListRequest request, ServerCallContext context)
    {
        var caller = Caller.Of(context);
        if (request.All && !caller.IsAdmin)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "only admins (Gateway:Admins) may list every identity's jobs"));
        }

        string[] owners = request.All ? await client.GetGrain<IJobRegistryGrain>(0).OwnersAsync() : [caller.Name];
        var ids = (await Task.WhenAll(owners.Select(o => client.GetGrain<IOwnerGrain>(o).JobsAsync()))).SelectMany(j => j);
        var statuses = await Task.WhenAll(ids.Select(async id =>
        {
            try
            {
                return await client.GetGrain<IJobGrain>(id).GetStatusAsync();
            }
            catch (JobNotFoundException)
            {
                // Forgotten between the two calls.
                return null;
            }
        }));
        var response = new ListResponse();
        response.Jobs.AddRange(statuses.OfType<Grains.JobStatus>().OrderByDescending(s => s.StartedAt).Select(s => s.ToProto()));
        return response;
    }

    public override async Task<NodesResponse> Nodes(NodesRequest request, ServerCallContext context)
    {
        var nodes = await client.GetGrain<INodeDirectoryGrain>(0).ListAsync();
        var response = new NodesResponse();
        response.Nodes.AddRange(nodes.Select(n => n.ToProto()));
        return response;
    }

    public override async Task<DrainResponse> Drain(DrainRequest request, ServerCallContext context)
    {
        if (!Caller.Of(context).IsAdmin)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "only admins (Gateway:Admins) may drain a node"));
        }

        var nodes = await client.GetGrain<INodeDirectoryGrain>(0).ListAsync();
        var node = nodes.FirstOrDefault(n => n.Name == request.Node && n.Status is NodeStatus.Active or NodeStatus.Draining)
            ?? throw new RpcException(new Status(StatusCode.NotFound,
                $"no live node is named '{request.Node}'; live nodes: {string.Join(", ", nodes.Where(n => n.Status is NodeStatus.Active or NodeStatus.Draining).Select(n => n.Name))}"));
        var info = await client.GetGrain<INodeGrain>(node.Address).DrainAsync();
        return new DrainResponse { Node = (node with { Status = NodeStatus.Draining, Info = info }).ToProto() };
    }

    public override async Task<PsResponse> Ps(PsRequest request, ServerCallContext context)
    {
        var (_, status) = await OwnedAsync(JobIds.Parse(request.JobId), context);
        return new PsResponse { Status = status.ToProto() };
    }

    public override async Task<WaitResponse> Wait(WaitRequest request, ServerCallContext context)
    {
        var caller = Caller.Of(context);
        using var call = stopping.Link(context.CancellationToken);
        var status = await waiter.WaitAsync(JobIds.Parse(request.JobId), caller.MayAccess, call.Token);
        return new WaitResponse { Status = status.ToProto() };
    }

    public override async Task<RemoveResponse> Remove(RemoveRequest request, ServerCallContext context)
    {
        var (grain, status) = await OwnedAsync(JobIds.Parse(request.JobId), context);
        if (!status.Ended || !await grain.ForgetAsync())
        {
            throw new JobStillRunningException($"job {status.JobId} is still running; kill it first");
        }

        return new RemoveResponse { Status = status.ToProto() };
    }

    public override async Task<KillResponse> Kill(KillRequest request, ServerCallContext context)
    {
        var (grain, _) = await OwnedAsync(JobIds.Parse(request.JobId), context);
        if (!string.IsNullOrEmpty(request.Signal))
        {
            return new KillResponse { Status = (await grain.SignalAsync(request.Signal)).ToProto() };
        }

        // The grain answers within seconds, however long the grace: a kill still under way is
        // waited for here, on the job's stream, for as long as the caller's deadline allows.
        var grace = ProtoMapping.FromProto(request.Grace, "grace") ?? options.Value.DefaultKillGrace;
        using var call = stopping.Link(context.CancellationToken);

        // No deadline, or one past any grace: the kill's own end (SIGKILL after the grace) bounds the wait.
        var left = context.Deadline - DateTime.UtcNow;
        if (left < TimeSpan.FromDays(1))
        {
            // Answer a little before the caller's deadline, so that it hears why rather than a bare deadline.
            var margin = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(1).Ticks, left.Ticks / 5));
            call.CancelAfter(left - margin > TimeSpan.Zero ? left - margin : TimeSpan.Zero);
        }

        var killing = grain.KillAsync(grace);
        try
        {
            var status = await killing.WaitAsync(call.Token);
            if (!status.Ended)
            {
                status = await waiter.WaitAsync(status.JobId, _ => true, call.Token);
            }

            return new KillResponse { Status = status.ToProto() };
        }
        catch (OperationCanceledException) when (call.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested && !stopping.IsStopping)
        {
            // The grain call goes on without a listener: its failure, if any, is the grain's to log.
            _ = killing.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            string jobId = request.JobId;
            throw new RpcException(new Status(
                StatusCode.DeadlineExceeded,
                $"job {jobId} had not ended by the call's deadline; the kill goes on (SIGKILL when the grace ends): 'jobs wait {jobId}' answers once it has"));
        }
    }

    public override Task Attach(IAsyncStreamReader<AttachRequest> requestStream, IServerStreamWriter<AttachResponse> responseStream, ServerCallContext context) =>
        attacher.AttachAsync(requestStream, responseStream, context);

    private Task<(IJobGrain Grain, Grains.JobStatus Status)> OwnedAsync(string jobId, ServerCallContext context) =>
        JobAccess.OwnedAsync(client, jobId, Caller.Of(context));

    private static int RunBytes(RunRequest request) =>
        System.Text.Encoding.UTF8.GetByteCount(request.Command)
        + request.Args.Sum(a => System.Text.Encoding.UTF8.GetByteCount(a) + 1)
        + request.Env.Sum(e => System.Text.Encoding.UTF8.GetByteCount(e.Key) + System.Text.Encoding.UTF8.GetByteCount(e.Value) + 2)
        + System.Text.Encoding.UTF8.GetByteCount(request.Cwd);
}
