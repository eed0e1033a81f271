using Jobs.Grains;
using Jobs.Silo;
using Jobs.Silo.Security;
using Orleans.Dashboard;

namespace Jobs.Gateway;

/// <summary>How the gateway reaches the grains: a silo in its own process, or a remote one as an Orleans client.</summary>
public static class OrleansSetup
{
    /// <summary>
    /// Hosts the silo (without an Orleans client gateway port: grain calls stay in process), or
    /// connects to a Silo process as an Orleans client; either way over mutual TLS with the cluster CA.
    /// </summary>
    /// <returns>A warning to log at start (a cluster key file others can read, allowed), or null.</returns>
    /// <exception cref="InvalidOperationException">The cluster certificate, key or CA cannot be used.</exception>
    public static string? AddJobsOrleans(this WebApplicationBuilder builder, SiloMode mode, bool dashboard)
    {
        if (mode == SiloMode.Embedded)
        {
            return builder.AddJobsSilo(dashboard, clientGateway: false);
        }

        var silo = SiloSetup.ClusterSettings(builder.Configuration);

        // Before anything starts: the password file, and that Redis is not open to all.
        var redis = silo.Clustering == ClusteringKind.Redis ? SiloSetup.RedisConfiguration(silo) : null;
        SiloSetup.HideClusteringFromOrleans(builder.Configuration);
        var tls = builder.Configuration.GetSection(ClusterTlsOptions.Section).Get<ClusterTlsOptions>() ?? new ClusterTlsOptions();
        string? warning = null;
        builder.UseOrleansClient(client =>
        {
            if (redis is not null)
            {
                // Silos are found through the membership in Redis; a new one within 10 s.
                client.UseRedisClustering(o => o.ConfigurationOptions = redis)
                    .Configure<Orleans.Configuration.ClusterOptions>(o =>
                    {
                        o.ClusterId = silo.ClusterId;
                        o.ServiceId = silo.ServiceId;
                    })
                    .Configure<Orleans.Configuration.GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(10));
            }
            else
            {
                client.UseLocalhostClustering(silo.GatewayPort);
            }

            client.AddMemoryStreams(JobStreams.ProviderName);
            warning = client.UseClusterTls(tls);
            if (dashboard)
            {
                client.AddDashboard();
            }
        });
        return warning;
    }
}
