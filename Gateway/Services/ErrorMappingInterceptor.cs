using Grpc.Core;
using Grpc.Core.Interceptors;
using Jobs.Grains;

namespace Jobs.Gateway.Services;

/// <summary>The one place domain exceptions become gRPC status codes; internal details go to the log only.</summary>
public sealed class ErrorMappingInterceptor(ILogger<ErrorMappingInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw Map(e, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw Map(e, context);
        }
    }

    private RpcException Map(Exception e, ServerCallContext context)
    {
        var status = e switch
        {
            InvalidJobIdException or InvalidJobSpecException or InvalidRequestException => new Status(StatusCode.InvalidArgument, e.Message),
            JobNotFoundException => new Status(StatusCode.NotFound, e.Message),
            JobStartFailedException or JobLimitUnavailableException or JobStillRunningException or NodeUnavailableException => new Status(StatusCode.FailedPrecondition, e.Message),
            JobAlreadyExistsException => new Status(StatusCode.AlreadyExists, e.Message),
            JobQuotaExceededException => new Status(StatusCode.ResourceExhausted, e.Message),
            OperationCanceledException when context.CancellationToken.IsCancellationRequested => new Status(StatusCode.Cancelled, "the call was cancelled"),
            NodeUnreachableException => new Status(StatusCode.Unavailable, e.Message),
            // Not the caller's: Orleans' directory gave up while a dying node's range changed hands.
            OperationCanceledException => new Status(StatusCode.Unavailable, "the cluster is settling after a node left; try again"),
            _ when NodeFaults.IsTransient(e) => new Status(StatusCode.Unavailable, "the job's node does not answer now (it may be leaving the cluster); try again"),
            _ => default(Status?),
        };
        if (status is { } known)
        {
            logger.LogInformation("{Method} refused: {Status} {Detail}", context.Method, known.StatusCode, known.Detail);
            return new RpcException(known);
        }

        logger.LogError(e, "{Method} failed", context.Method);
        return new RpcException(new Status(StatusCode.Internal, "internal server error; the server log has the details"));
    }
}
