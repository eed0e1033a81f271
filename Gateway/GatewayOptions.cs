namespace Jobs.Gateway;

/// <summary>The gateway's settings (configuration section <c>Gateway</c>).</summary>
public sealed class GatewayOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string Section = "Gateway";

    /// <summary>Address and port the gRPC endpoint listens on.</summary>
    public string Listen { get; set; } = "0.0.0.0:50051";

    /// <summary>The server certificate (PEM), relative to the working directory unless rooted.</summary>
    public string Certificate { get; set; } = "certs/server.pem";

    /// <summary>The server certificate's private key (PEM).</summary>
    public string Key { get; set; } = "certs/server.key";

    /// <summary>The only CA client certificates may chain to (PEM).</summary>
    public string ClientCa { get; set; } = "certs/client_ca.pem";

    /// <summary>
    /// <c>Embedded</c>: this process hosts the silo too (the one-command server). <c>Remote</c>: connect
    /// as an Orleans client to a silo running in its own process (the Silo project).
    /// </summary>
    public SiloMode Silo { get; set; } = SiloMode.Embedded;

    /// <summary>Identities (client certificate common names) that may see and kill every job.</summary>
    public string[] Admins { get; set; } = [];

    /// <summary>
    /// A file of revoked client certificates, one serial number or SHA-256 fingerprint (hex,
    /// colons optional) per line, <c>#</c> for comments; re-read when it changes, and calls already
    /// open with a newly revoked certificate are ended. None when empty. A configured file that is
    /// missing or unreadable stops the start; at run time the last good list stays in force.
    /// </summary>
    public string? DenyList { get; set; }

    /// <summary>Start even though the key file is readable by other users (development keys in a checkout); a warning is logged.</summary>
    public bool AllowReadableKey { get; set; }

    /// <summary>
    /// Address and port of a plain-HTTP Prometheus scrape endpoint (<c>/metrics</c>), such as
    /// <c>127.0.0.1:9464</c>; metrics are off when empty. Keep it on loopback or a private network.
    /// </summary>
    public string? MetricsListen { get; set; }

    /// <summary>
    /// Address and port of the Orleans dashboard (plain HTTP, no authentication: keep it on
    /// loopback), such as <c>127.0.0.1:8080</c>; off when empty. With a separate Silo process,
    /// start that with <c>--Orleans:Dashboard=true</c>.
    /// </summary>
    public string? DashboardListen { get; set; }

    /// <summary>Limits against abuse, per identity.</summary>
    public CallLimits Limits { get; set; } = new();
}

/// <summary>Limits against abuse (configuration section <c>Gateway:Limits</c>).</summary>
public sealed class CallLimits
{
    /// <summary>The most bytes the command, arguments, environment and working directory of one Run may take together.</summary>
    public int MaxRunBytes { get; set; } = 256 * 1024;

    /// <summary>The most Logs calls one identity may have open at once on this gateway.</summary>
    public int MaxFollowersPerIdentity { get; set; } = 64;

    /// <summary>Calls per second one identity may make on this gateway, on average.</summary>
    public int CallsPerSecond { get; set; } = 200;

    /// <summary>Calls one identity may make in a burst beyond the average.</summary>
    public int CallBurst { get; set; } = 400;
}
