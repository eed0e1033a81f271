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
}
