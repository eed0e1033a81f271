using Jobs.Grains;
using Jobs.Platform;
using Jobs.Platform.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Jobs.Silo.Security;
using Orleans.Dashboard;

namespace Jobs.Silo;

/// <summary>The silo's configuration, shared by the Silo process and a Gateway that hosts the silo itself.</summary>
public static class SiloSetup
{
    /// <summary>
    /// Adds the Jobs silo (grains, output streams, process launcher) to a host, with mutual TLS
    /// on every Orleans connection.
    /// </summary>
    /// <param name="builder">The host.</param>
    /// <param name="dashboard">Collect the Orleans dashboard's data even if <c>Orleans:Dashboard</c> is off.</param>
    /// <param name="clientGateway">
    /// Open the port Orleans clients (a separate gateway process) connect to. A gateway that hosts
    /// the silo itself calls grains in process and opens none.
    /// </param>
    /// <returns>A warning to log at start (a cluster key file others can read, allowed), or null.</returns>
    /// <exception cref="InvalidOperationException">The cluster certificate, key or CA cannot be used.</exception>
    public static string? AddJobsSilo(this IHostApplicationBuilder builder, bool dashboard = false, bool clientGateway = true)
    {
        var ports = builder.Configuration.GetSection(SiloOptions.Section).Get<SiloOptions>() ?? new SiloOptions();
        builder.Services.Configure<JobOptions>(builder.Configuration.GetSection(JobOptions.Section));
        builder.Services.AddOptions<JobOptions>()
            .Validate(o =>
            {
                o.Limits.Validate();
                o.ValidateEnvironment();
                return true;
            })
            .ValidateOnStart();
        builder.Services.Configure<PlatformOptions>(builder.Configuration.GetSection(PlatformOptions.Section));
        builder.Services.AddJobsPlatform();
        var tls = builder.Configuration.GetSection(ClusterTlsOptions.Section).Get<ClusterTlsOptions>() ?? new ClusterTlsOptions();
        string? warning = null;
        builder.UseOrleans(silo =>
        {
            // Gateway port 0: Orleans opens no client gateway.
            silo.UseLocalhostClustering(ports.SiloPort, clientGateway ? ports.GatewayPort : 0).AddJobsStreams();
            warning = silo.UseClusterTls(tls);
            if (dashboard || ports.Dashboard)
            {
                silo.AddDashboard();
            }
        });
        return warning;
    }

    /// <summary>The output stream provider and the storage of its subscriptions.</summary>
    public static ISiloBuilder AddJobsStreams(this ISiloBuilder silo) => silo
        .AddMemoryGrainStorage(JobStreams.PubSubStore)
        .AddMemoryStreams(JobStreams.ProviderName);

    /// <summary>
    /// The child-process launcher, the data directory (checked, and swept of ended servers' output,
    /// at start), and the service that kills every job when the host stops.
    /// </summary>
    public static IServiceCollection AddJobsPlatform(this IServiceCollection services)
    {
        services.AddSingleton(provider => ChildLauncher.CreateForCurrentOS(provider.GetRequiredService<IOptions<PlatformOptions>>().Value));
        services.AddSingleton(provider =>
        {
            string path = provider.GetRequiredService<IOptions<JobOptions>>().Value.DataDirectory;
            try
            {
                return DataDirectory.Open(path);
            }
            catch (InvalidOperationException e)
            {
                // Says which setting to change; the host stops with this as its one-line reason.
                throw new InvalidOperationException($"{JobOptions.Section}:DataDirectory: {e.Message} (or configure another {JobOptions.Section}:DataDirectory)", e);
            }
        });
        services.AddHostedService<SweepOutputOnStart>();
        services.AddHostedService<KillJobsOnStop>();
        return services;
    }
}
