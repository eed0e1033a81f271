using Grpc.Core;
using Grpc.Core.Interceptors;
using Jobs.Grains;

namespace Jobs.Gateway.Services;

/// <summary>The one place domain exceptions become gRPC status codes; internal details go to the log only.</summary>
public sealed class ErrorMappingInterceptor(ServerStopping stopping, ILogger<ErrorMappingInterceptor> logger) : Interceptor
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

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
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
            AccountNotAllowedException => new Status(StatusCode.PermissionDenied, e.Message),
            JobStartFailedException or JobLimitUnavailableException or AccountUnavailableException or JobStillRunningException or NodeUnavailableException or JobHasNoStdinException => new Status(StatusCode.FailedPrecondition, e.Message),
            JobAlreadyExistsException => new Status(StatusCode.AlreadyExists, e.Message),
            JobQuotaExceededException or NodeFullException => new Status(StatusCode.ResourceExhausted, e.Message),
            OperationCanceledException when context.CancellationToken.IsCancellationRequested => new Status(StatusCode.Cancelled, "the call was cancelled"),
            // Follows, waits and a kill's wait end at once when the server stops, instead of holding the stop.
            _ when stopping.IsStopping && (e is OperationCanceledException or ObjectDisposedException || NodeFaults.IsClusterUnreachable(e)) =>
                new Status(StatusCode.Unavailable, "server stopping; try again once it is back (or through another gateway)"),
            NodeUnreachableException => new Status(StatusCode.Unavailable, e.Message),
            _ when NodeFaults.IsClusterUnreachable(e) => new Status(StatusCode.Unavailable, "server unavailable: this gateway reaches no silo of the cluster now; try again"),
            // A grain call that got no answer in time (Orleans' response timeout): the node may be
            // leaving the cluster or overloaded; the call may or may not have taken effect.
            TimeoutException => new Status(StatusCode.DeadlineExceeded, "the cluster did not answer in time (a node may be leaving it, or be overloaded); try again"),
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
