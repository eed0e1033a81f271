namespace Jobs.Gateway.Services;

/// <summary>
/// The server's stop, as calls that may last (follows, waits, a kill's wait) see it: they end at
/// once with UNAVAILABLE ("server stopping") rather than hold the stop until their own end or the
/// host's shutdown timeout.
/// </summary>
public sealed class ServerStopping(IHostApplicationLifetime lifetime)
{
    /// <summary>Cancelled once the server has begun to stop.</summary>
    public CancellationToken Token => lifetime.ApplicationStopping;

    public bool IsStopping => lifetime.ApplicationStopping.IsCancellationRequested;

    /// <summary>A token cancelled by the call's own end or by the server's stop, whichever comes first.</summary>
    public CancellationTokenSource Link(CancellationToken call) => CancellationTokenSource.CreateLinkedTokenSource(call, lifetime.ApplicationStopping);
}
