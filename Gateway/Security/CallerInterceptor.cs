using System.Threading.RateLimiting;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Jobs.Protos;
using Microsoft.Extensions.Options;

namespace Jobs.Gateway.Security;

/// <summary>
/// The first step of every call, of every kind: who calls (the client certificate's common name),
/// whether that certificate is revoked, whether the identity is within its call rate, and, for calls
/// that start, read or end jobs, one audit event with the outcome, allowed or refused. A call let in
/// is held in <see cref="OpenCalls"/> until it ends, so a later revocation ends it with UNAUTHENTICATED.
/// </summary>
public sealed class CallerInterceptor(IOptions<GatewayOptions> options, DenyList denyList, CallRateLimiter rateLimiter, OpenCalls openCalls, AuditLog audit, ILoggerFactory loggers) : Interceptor
{
    private readonly ILogger _calls = loggers.CreateLogger<CallerInterceptor>();
    private readonly HashSet<string> _admins = new(options.Value.Admins, StringComparer.Ordinal);

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation) =>
        HandleAsync(request, context, streams: false, call => continuation(request, call.Context));

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation) =>
        HandleAsync<object?>(request, context, streams: true, async call =>
        {
            await continuation(request, new RevocableStreamWriter<TResponse>(responseStream, call), call.Context);
            return null;
        });

    // Reflection is a duplex call: it is admitted, limited and revoked like every other.
    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation) =>
        HandleAsync(null, context, streams: true, call => continuation(new RevocableStreamReader<TRequest>(requestStream, call), call.Context));

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation) =>
        HandleAsync<object?>(null, context, streams: true, async call =>
        {
            await continuation(new RevocableStreamReader<TRequest>(requestStream, call), new RevocableStreamWriter<TResponse>(responseStream, call), call.Context);
            return null;
        });

    private async Task<T> HandleAsync<T>(object? request, ServerCallContext context, bool streams, Func<OpenCall, Task<T>> handle)
    {
        string? identity = null;
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var caller = Admit(context);
            identity = caller.Name;
            using var scope = Scope(identity, request);
            T response;
            using (var call = openCalls.Open(caller, context))
            {
                try
                {
                    response = await handle(call);
                }
                catch (Exception) when (call.IsRevoked)
                {
                    // Whatever the handler made of its cancelled token, the caller learns why.
                    throw call.Refusal();
                }

                // A stream cut short may end without an error; its reader must not take it as complete.
                // A unary answer is whole, and says what was done.
                if (streams && call.IsRevoked)
                {
                    throw call.Refusal();
                }
            }

            Audit(context, request, response, identity, StatusCode.OK, null);
            Services.GatewayMetrics.Call(context.Method, StatusCode.OK, started);
            return response;
        }
        catch (RpcException e)
        {
            Audit(context, request, null, identity, e.StatusCode, e.Status.Detail);
            Services.GatewayMetrics.Call(context.Method, e.StatusCode, started);
            throw;
        }
    }

    // Every log line written during the call carries who made it and on which job.
    private IDisposable? Scope(string identity, object? request) => _calls.BeginScope(
        new Dictionary<string, object>
        {
            ["Identity"] = identity,
            ["JobId"] = request switch
            {
                KillRequest kill => kill.JobId,
                LogsRequest logs => logs.JobId,
                PsRequest ps => ps.JobId,
                WaitRequest wait => wait.JobId,
                RemoveRequest remove => remove.JobId,
                _ => "-",
            },
        });

    private Caller Admit(ServerCallContext context)
    {
        // Kestrel required the certificate and checked it against the client CA, its clientAuth
        // usage and its validity period before any call could be made.
        var certificate = context.GetHttpContext().Connection.ClientCertificate
            ?? throw new RpcException(new Status(StatusCode.Unauthenticated, "a client certificate is required"));
        string name = Caller.CommonName(certificate)
            ?? throw new RpcException(new Status(StatusCode.PermissionDenied, "the client certificate has no single subject common name to identify its holder"));
        if (denyList.IsDenied(certificate))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, $"the client certificate of '{name}' (serial {certificate.SerialNumber}) is revoked"));
        }

        if (!rateLimiter.TryAcquire(name))
        {
            throw new RpcException(new Status(
                StatusCode.ResourceExhausted,
                $"'{name}' made more than {options.Value.Limits.CallsPerSecond} calls per second (burst {options.Value.Limits.CallBurst}); slow down"));
        }

        var caller = new Caller(name, _admins.Contains(name), certificate);
        caller.AttachTo(context);
        return caller;
    }

    private void Audit(ServerCallContext context, object? request, object? response, string? identity, StatusCode outcome, string? detail)
    {
        // A Run's account: the one it runs as, else (refused) the one it asked for.
        (string Call, string? JobId, string? Command, string? User)? audited = request switch
        {
            RunRequest run => ("Run", (response as RunResponse)?.JobId, string.Join(' ', [run.Command, .. run.Args]),
                (response as RunResponse)?.User is { Length: > 0 } user ? user : run.User),
            KillRequest kill => ("Kill", kill.JobId, null, null),
            LogsRequest logs => ("Logs", logs.JobId, null, null),
            WaitRequest wait => ("Wait", wait.JobId, null, null),
            RemoveRequest remove => ("Remove", remove.JobId, null, null),
            _ => null,
        };
        if (audited is not { } a)
        {
            return;
        }

        audit.Write(a.Call, identity, a.JobId, a.Command, a.User, outcome, detail, context.Peer);
    }
}

/// <summary>A token bucket per identity, refilled about every 100 ms, with no queue: a call beyond it is refused at once.</summary>
public sealed class CallRateLimiter(IOptions<GatewayOptions> options) : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter = PartitionedRateLimiter.Create<string, string>(identity =>
        RateLimitPartition.GetTokenBucketLimiter(identity, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, options.Value.Limits.CallBurst),
            TokensPerPeriod = TokensPerPeriod(options.Value.Limits.CallsPerSecond),
            ReplenishmentPeriod = TimeSpan.FromSeconds((double)TokensPerPeriod(options.Value.Limits.CallsPerSecond) / Math.Max(1, options.Value.Limits.CallsPerSecond)),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));

    /// <summary>Takes one call from the identity's bucket; false when it is empty.</summary>
    public bool TryAcquire(string identity)
    {
        using var lease = _limiter.AttemptAcquire(identity);
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();

    private static int TokensPerPeriod(int callsPerSecond) => Math.Max(1, callsPerSecond / 10);
}
