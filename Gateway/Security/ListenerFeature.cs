namespace Jobs.Gateway.Security;

/// <summary>The listener a connection was accepted on, set by Kestrel connection middleware before any byte of HTTP is read.</summary>
/// <param name="Listener">The listener.</param>
public sealed record ListenerFeature(GatewayListener Listener);
