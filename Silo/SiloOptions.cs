namespace Jobs.Silo;

/// <summary>Where the silo listens (configuration section <c>Orleans</c>); localhost clustering.</summary>
public sealed class SiloOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string Section = "Orleans";

    /// <summary>Silo-to-silo port.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>The port Orleans clients (a separate Gateway process) connect to.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Collect the Orleans dashboard's data in this silo (a gateway with <c>Gateway:DashboardListen</c> shows it).</summary>
    public bool Dashboard { get; set; }

    /// <summary>A separate Silo process only: address:port of its Prometheus scrape endpoint (<c>/metrics</c>); off when empty.</summary>
    public string? MetricsListen { get; set; }
}
