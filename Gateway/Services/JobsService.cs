using Grpc.Core;
using Jobs.Grains;
using Jobs.Protos;

namespace Jobs.Gateway.Services;

/// <summary>The <c>jobs.v1.Jobs</c> service: translates calls to the job grains. Errors are mapped by <see cref="ErrorMappingInterceptor"/>.</summary>
public sealed class JobsService(IClusterClient client, JobOutputFollower follower, Microsoft.Extensions.Options.IOptions<JobOptions> options)
    : Protos.Jobs.JobsBase
{
    public override async Task<RunResponse> Run(RunRequest request, ServerCallContext context)
    {
        if (string.IsNullOrWhiteSpace(request.Command))
        {
            throw new InvalidJobSpecException("the command is empty");
        }

        string jobId = JobIds.New();
        var spec = new JobSpec(request.Command, [.. request.Args])
        {
            WorkingDirectory = string.IsNullOrEmpty(request.Cwd) ? null : request.Cwd,
            Environment = request.Env.Count == 0 ? null : new Dictionary<string, string>(request.Env),
            Timeout = request.Timeout?.ToTimeSpan(),
            Limits = ProtoMapping.FromProto(request.Limits),
            Isolate = request.Isolate,
        };
        await client.GetGrain<IJobGrain>(jobId).StartAsync(spec);
        return new RunResponse { JobId = jobId };
    }

    public override async Task Logs(LogsRequest request, IServerStreamWriter<LogsResponse> responseStream, ServerCallContext context)
    {
        string jobId = JobIds.Parse(request.JobId);
        var selection = OutputSelection.From(request);
        var grain = client.GetGrain<IJobGrain>(jobId);
        long start = await selection.StartPositionAsync(grain);
        await foreach (var item in follower.FollowAsync(jobId, start, context.CancellationToken))
        {
            var response = item switch
            {
                { Output: { } record } => selection.Select(record) is { } selected ? new LogsResponse { Chunk = selected.ToProto() } : null,
                { Dropped: { } first } => selection.LostBefore(first) ? new LogsResponse { Dropped = first.ToDroppedProto() } : null,
                { End: { } end } => new LogsResponse { End = end.ToProto() },
                _ => null,
            };
            if (response is not null)
            {
                await responseStream.WriteAsync(response, context.CancellationToken);
            }
        }
    }

    public override async Task<PsResponse> Ps(PsRequest request, ServerCallContext context)
    {
        var status = await client.GetGrain<IJobGrain>(JobIds.Parse(request.JobId)).GetStatusAsync();
        return new PsResponse { Status = status.ToProto() };
    }

    public override async Task<RemoveResponse> Remove(RemoveRequest request, ServerCallContext context)
    {
        var grain = client.GetGrain<IJobGrain>(JobIds.Parse(request.JobId));
        var status = await grain.GetStatusAsync();
        if (!status.Ended || !await grain.ForgetAsync())
        {
            throw new JobStillRunningException($"job {status.JobId} is still running; kill it first");
        }

        return new RemoveResponse { Status = status.ToProto() };
    }

    public override async Task<KillResponse> Kill(KillRequest request, ServerCallContext context)
    {
        var grain = client.GetGrain<IJobGrain>(JobIds.Parse(request.JobId));
        var status = string.IsNullOrEmpty(request.Signal)
            ? await grain.KillAsync(request.Grace?.ToTimeSpan() ?? options.Value.DefaultKillGrace)
            : await grain.SignalAsync(request.Signal);
        return new KillResponse { Status = status.ToProto() };
    }
}
