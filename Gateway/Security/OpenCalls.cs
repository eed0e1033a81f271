using System.Collections.Concurrent;
using Grpc.Core;

namespace Jobs.Gateway.Security;

/// <summary>
/// Every call in progress with the certificate it came with, so that a revocation ends the calls
/// already open (a follow can last as long as its job), not only the next ones.
/// </summary>
public sealed class OpenCalls : IDisposable
{
    private readonly ConcurrentDictionary<OpenCall, byte> _open = new();
    private readonly DenyList _denyList;
    private readonly ILogger<OpenCalls> _logger;

    public OpenCalls(DenyList denyList, ILogger<OpenCalls> logger)
    {
        _denyList = denyList;
        _logger = logger;
        denyList.Changed += Revoke;
    }

    /// <summary>Registers a call of an admitted caller until the returned call is disposed.</summary>
    public OpenCall Open(Caller caller, ServerCallContext context)
    {
        var call = new OpenCall(caller, context, this);
        _open.TryAdd(call, 0);

        // The list may have changed between the caller's admission and the registration.
        if (_denyList.InForce.Contains(caller.Certificate))
        {
            call.Revoke();
        }

        return call;
    }

    public void Dispose() => _denyList.Changed -= Revoke;

    internal void Close(OpenCall call) => _open.TryRemove(call, out _);

    private void Revoke()
    {
        // The list in force, not the one read: two reads may announce themselves out of order.
        var list = _denyList.InForce;
        int ended = 0;
        foreach (var call in _open.Keys)
        {
            if (list.Contains(call.Caller.Certificate) && call.Revoke())
            {
                ended++;
            }
        }

        if (ended > 0)
        {
            _logger.LogWarning("Ending {Count} open calls whose client certificate is now revoked", ended);
        }
    }
}
