using Grpc.Core;
using Jobs.Grains;
using Jobs.Protos;

namespace Jobs.Gateway.Services;

/// <summary>The <c>jobs.v1.Jobs</c> service: translates calls to the job grains. Errors are mapped by <see cref="ErrorMappingInterceptor"/>.</summary>
public sealed class JobsService(IClusterClient client, JobOutputFollower follower) : Protos.Jobs.JobsBase
{
    public override async Task<RunResponse> Run(RunRequest request, ServerCallContext context)
    {
        if (string.IsNullOrWhiteSpace(request.Command))
        {
            throw new InvalidJobSpecException("the command is empty");
        }

        string jobId = JobIds.New();
        await client.GetGrain<IJobGrain>(jobId).StartAsync(new JobSpec(request.Command, [.. request.Args]));
        return new RunResponse { JobId = jobId };
    }

    public override async Task Logs(LogsRequest request, IServerStreamWriter<LogsResponse> responseStream, ServerCallContext context)
    {
        string jobId = JobIds.Parse(request.JobId);
        bool all = request.Stdout == request.Stderr;
        await foreach (var item in follower.FollowAsync(jobId, 0, context.CancellationToken))
        {
            if (item.Output is { } record)
            {
                if (all || (record.Stream == OutputStreamKind.Stdout ? request.Stdout : request.Stderr))
                {
                    await responseStream.WriteAsync(new LogsResponse { Chunk = record.ToProto() }, context.CancellationToken);
                }
            }
            else if (item.End is { } end)
            {
                await responseStream.WriteAsync(new LogsResponse { End = end.ToProto() }, context.CancellationToken);
            }
        }
    }

    public override async Task<PsResponse> Ps(PsRequest request, ServerCallContext context)
    {
        var status = await client.GetGrain<IJobGrain>(JobIds.Parse(request.JobId)).GetStatusAsync();
        return new PsResponse { Status = status.ToProto() };
    }

    public override async Task<KillResponse> Kill(KillRequest request, ServerCallContext context)
    {
        var status = await client.GetGrain<IJobGrain>(JobIds.Parse(request.JobId)).KillAsync();
        return new KillResponse { Status = status.ToProto() };
    }
}
