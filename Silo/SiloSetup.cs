using Jobs.Grains;
using Jobs.Platform;
using Jobs.Platform.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Jobs.Silo.Security;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Hosting;
using Orleans.Runtime.Hosting;

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
        var cluster = ClusterSettings(builder.Configuration);

        // Before anything starts: the password file, and that Redis is not open to all.
        var redis = cluster.Clustering == ClusteringKind.Redis ? RedisConfiguration(cluster) : null;
        HideClusteringFromOrleans(builder.Configuration);
        builder.Services.Configure<JobOptions>(builder.Configuration.GetSection(JobOptions.Section));
        builder.Services.AddOptions<JobOptions>()
            .Validate(o =>
            {
                o.Limits.Validate();
                o.ValidateEnvironment();
                o.Accounts.Validate();
                return true;
            })
            .ValidateOnStart();
        builder.Services.AddOptions<GrainCollectionOptions>()
            .Configure<IOptions<JobOptions>>((collection, jobs) => CollectFinishedJobs(collection, jobs.Value.FinishedIdle));
        builder.Services.Configure<PlatformOptions>(builder.Configuration.GetSection(PlatformOptions.Section));
        builder.Services.AddJobsPlatform();
        builder.Services.AddJobsNode(cluster);
        var tls = builder.Configuration.GetSection(ClusterTlsOptions.Section).Get<ClusterTlsOptions>() ?? new ClusterTlsOptions();
        var membership = builder.Configuration.GetSection(MembershipSection);
        string? warning = null;
        builder.UseOrleans(silo =>
        {
            // Gateway port 0: Orleans opens no client gateway.
            int gatewayPort = clientGateway ? cluster.GatewayPort : 0;
            silo.Configure<Orleans.Configuration.SiloOptions>(o => o.SiloName = cluster.Node);
            if (redis is not null)
            {
                silo.Configure<ClusterOptions>(o =>
                    {
                        o.ClusterId = cluster.ClusterId;
                        o.ServiceId = cluster.ServiceId;
                    })
                    .ConfigureEndpoints(AdvertisedAddress(cluster), cluster.SiloPort, gatewayPort)
                    .Configure<ClusterMembershipOptions>(o => ConfigureMembership(o, membership))
                    .AddJobsRedisState(redis);
            }
            else
            {
                silo.UseLocalhostClustering(cluster.SiloPort, gatewayPort).AddJobsLocalState();
            }

            warning = silo.UseClusterTls(tls);
            if (dashboard || cluster.Dashboard)
            {
                silo.AddDashboard();
            }
        });
        return warning;
    }

    /// <summary>
    /// Finished jobs, and the pub-sub grains of their output streams, leave memory once idle for
    /// <paramref name="finishedIdle"/>; a running job keeps itself activated. Other grains keep
    /// Orleans' defaults.
    /// </summary>
    public static void CollectFinishedJobs(GrainCollectionOptions collection, TimeSpan finishedIdle)
    {
        if (finishedIdle < TimeSpan.FromSeconds(2))
        {
            throw new InvalidOperationException($"{JobOptions.Section}:FinishedIdle must be at least 2 seconds; it is {finishedIdle}");
        }

        // Each activation's idle time is checked once a quantum, which must be shorter than any age.
        collection.CollectionQuantum = TimeSpan.FromTicks(Math.Min(collection.CollectionQuantum.Ticks, finishedIdle.Ticks / 2));
        collection.ClassSpecificCollectionAge[typeof(JobGrain).FullName!] = finishedIdle;
        collection.ClassSpecificCollectionAge[PubSubGrainClass] = finishedIdle;
    }

    // Orleans' grain behind each stream's subscriptions (internal to Orleans.Streaming).
    private const string PubSubGrainClass = "Orleans.Streams.PubSubRendezvousGrain";

    /// <summary>The configuration section of Orleans' membership settings (<see cref="ClusterMembershipOptions"/>), on top of this project's defaults.</summary>
    public const string MembershipSection = "Orleans:Membership";

    /// <summary>
    /// Probes every 2 s and declares a silo dead after 3 missed probes: a node that dies is known
    /// dead about 6-10 s later (Orleans' defaults: 5 s and 3, about 15-20 s), well inside the 30 s
    /// in which every other part of the cluster must say so.
    /// </summary>
    public static void ConfigureMembership(ClusterMembershipOptions options, IConfiguration section)
    {
        options.ProbeTimeout = TimeSpan.FromSeconds(2);
        options.NumMissedProbesLimit = 3;
        options.TableRefreshTimeout = TimeSpan.FromSeconds(10);
        options.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10);
        section.Bind(options);
    }

    /// <summary>The cluster settings (section <c>Orleans</c>), checked: Redis clustering needs <c>Orleans:Redis</c>.</summary>
    /// <exception cref="InvalidOperationException">A setting is missing or cannot be used.</exception>
    public static SiloOptions ClusterSettings(IConfiguration configuration)
    {
        SiloOptions options;
        try
        {
            options = configuration.GetSection(SiloOptions.Section).Get<SiloOptions>() ?? new SiloOptions();
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{SiloOptions.Section}: {e.InnerException?.Message ?? e.Message} (Orleans:Clustering is Localhost or Redis)", e);
        }

        if (options.Clustering == ClusteringKind.Redis && string.IsNullOrWhiteSpace(options.Redis))
        {
            throw new InvalidOperationException("Orleans:Clustering=Redis needs Orleans:Redis, a Redis connection string such as 127.0.0.1:6379");
        }

        if (options.Clustering == ClusteringKind.Redis)
        {
            if (configuration is IConfigurationRoot root
                && root.Providers.OfType<Microsoft.Extensions.Configuration.CommandLine.CommandLineConfigurationProvider>()
                    .Any(p => p.TryGet($"{SiloOptions.Section}:{nameof(SiloOptions.Redis)}", out string? given) && HasPassword(given)))
            {
                throw new InvalidOperationException(
                    "Orleans:Redis on the command line holds a password, which every local user can read in /proc/PID/cmdline: "
                    + "put the password in a file named by Orleans:RedisPasswordFile, or the connection string in the environment (Orleans__Redis)");
            }
        }

        return options;
    }

    private static bool HasPassword(string? connection)
    {
        try
        {
            return connection is not null && !string.IsNullOrEmpty(StackExchange.Redis.ConfigurationOptions.Parse(connection).Password);
        }
        catch (ArgumentException)
        {
            // Not a connection string at all: said by RedisConfiguration.
            return false;
        }
    }

    /// <summary>
    /// Orleans reads a section <c>Orleans:Clustering</c> as its own provider configuration (and
    /// fails on a plain value, wanting <c>ProviderType</c>). Ours is the plain value <c>Localhost</c>
    /// or <c>Redis</c>, read before this and applied in code: once read, it is hidden from Orleans.
    /// </summary>
    public static void HideClusteringFromOrleans(IConfigurationManager configuration)
    {
        if (configuration[$"{SiloOptions.Section}:{nameof(SiloOptions.Clustering)}"] is not null
            && !configuration.GetSection($"{SiloOptions.Section}:{nameof(SiloOptions.Clustering)}").GetChildren().Any())
        {
            configuration.AddInMemoryCollection([new($"{SiloOptions.Section}:{nameof(SiloOptions.Clustering)}", null)]);
        }
    }

    // A forgotten job's record is deleted, not kept as an empty value: the store holds only live state.
    private static void RedisStorage(Orleans.Persistence.RedisStorageOptions options, StackExchange.Redis.ConfigurationOptions redis)
    {
        options.ConfigurationOptions = redis;
        options.DeleteStateOnClear = true;
    }

    /// <summary>
    /// The Redis connection of a cluster: <c>Orleans:Redis</c> with the password of
    /// <c>Orleans:RedisPasswordFile</c>, refused without a password or ACL user unless
    /// <c>Orleans:AllowUnauthenticatedRedis</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Orleans:Redis cannot be parsed, the password file cannot be used, or Redis would be open to all.</exception>
    public static StackExchange.Redis.ConfigurationOptions RedisConfiguration(SiloOptions cluster)
    {
        StackExchange.Redis.ConfigurationOptions options;
        try
        {
            options = StackExchange.Redis.ConfigurationOptions.Parse(cluster.Redis!);
        }
        catch (ArgumentException e)
        {
            // The message names the string without its password, which may be in it.
            throw new InvalidOperationException($"Orleans:Redis is not a Redis connection string: {e.Message}", e);
        }

        // A node starting before Redis is up keeps trying rather than failing its first connect.
        options.AbortOnConnectFail = false;
        if (!string.IsNullOrWhiteSpace(cluster.RedisPasswordFile))
        {
            options.Password = Security.SecretFile.ReadFirstLine(cluster.RedisPasswordFile, "Orleans:RedisPasswordFile");
        }

        if (string.IsNullOrEmpty(options.Password) && string.IsNullOrEmpty(options.User) && !cluster.AllowUnauthenticatedRedis)
        {
            throw new InvalidOperationException(
                "the cluster's Redis (Orleans:Redis) has no password or ACL user: whoever reaches it, every job of every node included, "
                + "could rewrite the cluster's membership and every job's record. Give Redis a password (requirepass) and the nodes "
                + "Orleans:RedisPasswordFile, or set Orleans:AllowUnauthenticatedRedis=true for development");
        }

        return options;
    }

    private static System.Net.IPAddress AdvertisedAddress(SiloOptions cluster)
    {
        if (string.IsNullOrWhiteSpace(cluster.AdvertisedAddress))
        {
            return System.Net.Dns.GetHostAddresses(System.Net.Dns.GetHostName())
                .FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !System.Net.IPAddress.IsLoopback(a))
                ?? throw new InvalidOperationException("this host has no IPv4 address other nodes could reach; set Orleans:AdvertisedAddress");
        }

        if (System.Net.IPAddress.TryParse(cluster.AdvertisedAddress, out var address))
        {
            return address;
        }

        try
        {
            return System.Net.Dns.GetHostAddresses(cluster.AdvertisedAddress).First();
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or InvalidOperationException)
        {
            throw new InvalidOperationException($"Orleans:AdvertisedAddress '{cluster.AdvertisedAddress}' does not resolve to an address", e);
        }
    }

    /// <summary>What a node is: its jobs, the machine's figures, its view of the membership, and how it leaves.</summary>
    public static IServiceCollection AddJobsNode(this IServiceCollection services, SiloOptions cluster)
    {
        // Made now, so that its uptime counts from the host's start rather than from the first job.
        services.AddSingleton(new NodeState(cluster.AcceptJobs, TimeProvider.System));
        services.AddSingleton(_ => MachineStatistics.CreateForCurrentOS());
        services.AddHostedService<SampleMachineFromStart>();
        services.AddSingleton<IClusterView, ClusterView>();
        services.AddSingleton(provider => new NodeLoads(provider.GetRequiredService<IClusterView>(), provider.GetRequiredService<IGrainFactory>(), TimeProvider.System));
        services.AddSingleton<INodeLifetime, NodeLifetime>();
        services.AddPlacementDirector<NodePlacementStrategy, NodePlacementDirector>();
        return services;
    }

    /// <summary>
    /// A cluster's membership and state on Redis: Orleans' Redis membership, job records, owners,
    /// the registry and stream subscriptions in Redis grain storage, and the distributed grain directory.
    /// </summary>
    public static ISiloBuilder AddJobsRedisState(this ISiloBuilder silo, StackExchange.Redis.ConfigurationOptions redis)
    {
        silo.UseRedisClustering(o => o.ConfigurationOptions = redis)
            .AddRedisGrainStorage(JobStorage.Name, o => RedisStorage(o, redis))
            .AddRedisGrainStorage(JobStreams.PubSubStore, o => RedisStorage(o, redis))
            .AddJobStreams();

        // Orleans' classic directory deactivates every activation whose directory entry lived on
        // a silo that died: a job on a healthy node was killed so when its peer was. The
        // distributed directory recovers those entries from the live silos instead.
#pragma warning disable ORLEANSEXP003 // Experimental in Orleans 10; the one directory that keeps activations through a silo's death.
        silo.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003
        return silo;
    }

    /// <summary>
    /// A one-silo server's state: the output stream provider with its subscriptions in memory, and
    /// grain state (<see cref="JobStorage"/>) kept in the activations only.
    /// </summary>
    public static ISiloBuilder AddJobsLocalState(this ISiloBuilder silo)
    {
        silo.AddMemoryGrainStorage(JobStreams.PubSubStore).AddJobStreams();
        silo.Services.AddGrainStorage(JobStorage.Name, (_, _) => new MemoryOnlyGrainStorage());
        return silo;
    }

    // How long a notice stays in a memory stream queue's cache: past this it may be purged, once
    // newer notices are this much younger. Orleans' defaults (5 and 30 minutes) kept every notice
    // of the last half hour of traffic, whether or not any subscriber was behind, in 1 MiB blocks
    // that the cache's pool keeps once allocated. Subscribers take a notice within the pulling
    // period (100 ms); one that misses it to a purge is moved on by Orleans, and a follow reads
    // by position after a second without a notice anyway.
    internal static readonly TimeSpan NoticeCacheTime = TimeSpan.FromSeconds(10);

    // The job output streams: in-memory queues of position notices (OutputNotice), bounded in time.
    private static ISiloBuilder AddJobStreams(this ISiloBuilder silo) =>
        silo.AddMemoryStreams(JobStreams.ProviderName, streams => streams.ConfigureCacheEviction(eviction => eviction.Configure(o =>
        {
            o.DataMinTimeInCache = NoticeCacheTime;
            o.DataMaxAgeInCache = NoticeCacheTime;
            o.MetadataMinTimeInCache = NoticeCacheTime;
        })));

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
        services.AddSingleton(provider =>
        {
            try
            {
                return JobAccounts.Create(provider.GetRequiredService<IOptions<JobOptions>>().Value.Accounts.Homes, provider.GetRequiredService<IChildLauncher>());
            }
            catch (InvalidOperationException e)
            {
                throw new InvalidOperationException($"{JobOptions.Section}:Accounts:Homes: {e.Message} (or configure another {JobOptions.Section}:Accounts:Homes)", e);
            }
        });
        services.AddSingleton<DynamicUids>();
        services.AddSingleton<OutputBudget>();
        services.AddHostedService<SweepOutputOnStart>();
        services.AddHostedService<AccountsOnStart>();
        services.AddHostedService<KillJobsOnStop>();
        return services;
    }
}
