using Jobs.Grains;
using Jobs.Platform;
using Jobs.Platform.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Dashboard;

namespace Jobs.Silo;

/// <summary>The silo's configuration, shared by the Silo process and a Gateway that hosts the silo itself.</summary>
public static class SiloSetup
{
    /// <summary>Adds the Jobs silo (grains, output streams, process launcher) to a host.</summary>
    /// <param name="builder">The host.</param>
    /// <param name="dashboard">Collect the Orleans dashboard's data even if <c>Orleans:Dashboard</c> is off.</param>
    public static IHostApplicationBuilder AddJobsSilo(this IHostApplicationBuilder builder, bool dashboard = false)
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
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(ports.SiloPort, ports.GatewayPort).AddJobsStreams();
            if (dashboard || ports.Dashboard)
            {
                silo.AddDashboard();
            }
        });
        return builder;
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
