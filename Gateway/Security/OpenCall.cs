using Grpc.Core;
using Microsoft.AspNetCore.Http.Features;

namespace Jobs.Gateway.Security;

/// <summary>
/// One call in progress, as <see cref="OpenCalls"/> holds it: the handler sees a cancellation token
/// that also fires when the caller's certificate is revoked, and <see cref="CallerInterceptor"/> then
/// ends the call with UNAUTHENTICATED rather than CANCELLED.
/// </summary>
public sealed class OpenCall : IDisposable
{
    // A handler that ignores its token (or waits on something that cannot be cancelled) still ends:
    // its HTTP/2 stream is reset this long after the revocation.
    private static readonly TimeSpan ResetAfter = TimeSpan.FromSeconds(2);

    private readonly OpenCalls _owner;
    private readonly HttpContext _http;
    private readonly CancellationTokenSource _cancel;
    private readonly Lock _gate = new();
    private bool _closed;
    private volatile bool _revoked;

    internal OpenCall(Caller caller, ServerCallContext context, OpenCalls owner)
    {
        Caller = caller;
        _owner = owner;
        _http = context.GetHttpContext();
        CallToken = context.CancellationToken;
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        Context = new RevocableCallContext(context, _http, _cancel.Token);
    }

    public Caller Caller { get; }

    /// <summary>The call's context as its handler sees it: the same call, with <see cref="Token"/> as its cancellation token.</summary>
    public ServerCallContext Context { get; }

    /// <summary>Fires when the call ends (deadline, client gone) or its certificate is revoked.</summary>
    public CancellationToken Token => _cancel.Token;

    /// <summary>The call's own token, without the revocation.</summary>
    public CancellationToken CallToken { get; }

    public bool IsRevoked => _revoked;

    /// <summary>The status a revoked call ends with.</summary>
    public RpcException Refusal() => new(new Status(
        StatusCode.Unauthenticated,
        $"the client certificate of '{Caller.Name}' (serial {Caller.Certificate.SerialNumber}) is revoked; the call was ended"));

    public void Dispose()
    {
        lock (_gate)
        {
            _closed = true;
        }

        _owner.Close(this);
        _cancel.Dispose();
    }

    /// <summary>Ends the call because its certificate is revoked; false when it had already ended.</summary>
    internal bool Revoke()
    {
        lock (_gate)
        {
            if (_closed || _revoked)
            {
                return false;
            }

            _revoked = true;

            // Callbacks run on the thread pool, not on the thread that noticed the revocation.
            _ = _cancel.CancelAsync();
        }

        _ = ResetIfStillOpenAsync();
        return true;
    }

    private async Task ResetIfStillOpenAsync()
    {
        await Task.Delay(ResetAfter);
        lock (_gate)
        {
            // Only while the call is open: afterwards the HttpContext may serve another request.
            if (_closed)
            {
                return;
            }

            var reset = _http.Features.Get<IHttpResetFeature>();
            if (reset is not null)
            {
                reset.Reset(8); // HTTP/2 CANCEL
            }
            else
            {
                _http.Abort();
            }
        }
    }
}
