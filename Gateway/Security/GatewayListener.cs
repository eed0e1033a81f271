namespace Jobs.Gateway.Security;

/// <summary>The gateway's listeners: each serves its own routes and nothing else.</summary>
public enum GatewayListener
{
    /// <summary>The mutual-TLS HTTP/2 endpoint (<c>Gateway:Listen</c>): gRPC services only.</summary>
    Grpc,

    /// <summary>The plain-HTTP Prometheus scrape endpoint (<c>Gateway:MetricsListen</c>).</summary>
    Metrics,

    /// <summary>The plain-HTTP Orleans dashboard (<c>Gateway:DashboardListen</c>).</summary>
    Dashboard,
}
