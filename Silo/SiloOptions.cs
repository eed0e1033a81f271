namespace Jobs.Silo;

/// <summary>The silo's place in the cluster (configuration section <c>Orleans</c>).</summary>
public sealed class SiloOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string Section = "Orleans";

    /// <summary><c>Localhost</c> (one silo, in memory; the default) or <c>Redis</c> (a cluster whose membership and shared state live in <see cref="Redis"/>).</summary>
    public ClusteringKind Clustering { get; set; } = ClusteringKind.Localhost;

    /// <summary>
    /// With Redis clustering: a StackExchange.Redis connection string, such as <c>127.0.0.1:6379</c>.
    /// A password in it must not come from the command line (every local user reads that in
    /// <c>/proc/PID/cmdline</c>): give it in the environment (<c>Orleans__Redis</c>) or in <see cref="RedisPasswordFile"/>.
    /// </summary>
    public string? Redis { get; set; }

    /// <summary>With Redis clustering: a file whose first line is the Redis password; only the server's user may read it.</summary>
    public string? RedisPasswordFile { get; set; }

    /// <summary>
    /// With Redis clustering: allow a Redis without a password or ACL user. For development only:
    /// whoever reaches such a Redis (every job of every node included) can rewrite the cluster's
    /// membership and every job's record.
    /// </summary>
    public bool AllowUnauthenticatedRedis { get; set; }

    /// <summary>The cluster's name: silos and gateways with the same one form one cluster.</summary>
    public string ClusterId { get; set; } = "jobs";

    /// <summary>The service's name, kept across redeployments (part of the storage keys).</summary>
    public string ServiceId { get; set; } = "jobs";

    /// <summary>With Redis clustering: the address other nodes reach this one on (an IP address or a host name); by default the host's first address.</summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>This node's name in <c>jobs nodes</c> and <c>run --node</c>; the host name by default.</summary>
    public string? NodeName { get; set; }

    /// <summary>Run jobs on this node (false: it hosts grains but no jobs).</summary>
    public bool AcceptJobs { get; set; } = true;

    /// <summary>Silo-to-silo port.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>The port Orleans clients (a separate Gateway process) connect to.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Collect the Orleans dashboard's data in this silo (a gateway with <c>Gateway:DashboardListen</c> shows it).</summary>
    public bool Dashboard { get; set; }

    /// <summary>A separate Silo process only: address:port of its Prometheus scrape endpoint (<c>/metrics</c>); off when empty.</summary>
    public string? MetricsListen { get; set; }

    /// <summary>The node name in effect.</summary>
    public string Node => string.IsNullOrWhiteSpace(NodeName) ? System.Net.Dns.GetHostName() : NodeName;
}
