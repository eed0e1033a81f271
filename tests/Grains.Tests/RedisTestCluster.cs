using Jobs.Silo;
using Jobs.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Microsoft.Extensions.Hosting;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.TestingHost;

namespace Jobs.Grains.Tests;

/// <summary>
/// An in-process cluster of silos on real Redis membership (not the test membership) and Redis
/// grain storage, configured as the server configures a cluster, with a redis-server of its own.
/// Every silo is in this process: a silo that is killed here kills no job process of its own.
/// </summary>
public sealed class RedisTestCluster : IAsyncDisposable
{
    private const string RedisKey = "Test:Redis";
    private const string DataKey = "Test:DataDirectory";

    private readonly string _data = Path.Combine(Path.GetTempPath(), "jobs-tests", Guid.NewGuid().ToString("N"));

    private RedisTestCluster(RedisServer redis) => Redis = redis;

    public RedisServer Redis { get; }

    public TestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    public static async Task<RedisTestCluster> StartAsync(int silos, int maxRunningJobsPerOwner = 1000)
    {
        var redis = await RedisServer.StartAsync();
        var cluster = new RedisTestCluster(redis);
        try
        {
            var builder = new TestClusterBuilder((short)silos);
            builder.Options.UseTestClusterMembership = false;
            builder.Properties[RedisKey] = redis.ConnectionString;
            builder.Properties[DataKey] = cluster._data;
            builder.Properties["Jobs:MaxRunningJobsPerOwner"] = maxRunningJobsPerOwner.ToString(System.Globalization.CultureInfo.InvariantCulture);
            builder.AddSiloBuilderConfigurator<SiloConfigurator>();
            builder.AddClientBuilderConfigurator<ClientConfigurator>();
            cluster.Cluster = builder.Build();
            await cluster.Cluster.DeployAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The silo's node name (TestingHost names them Primary, Secondary_1, ...).</summary>
    public static string NodeName(SiloHandle silo) => silo.Name;

    /// <summary>A silo's address as the grains name it.</summary>
    public static string Address(SiloHandle silo) => silo.SiloAddress.ToParsableString();

    /// <summary>Calls <paramref name="call"/> with the placement hint set, so that a grain it activates lands on <paramref name="silo"/>.</summary>
    public static async Task<T> OnSiloAsync<T>(SiloHandle silo, Func<Task<T>> call)
    {
        RequestContext.Set(Orleans.Runtime.Placement.IPlacementDirector.PlacementHintKey, silo.SiloAddress);
        try
        {
            return await call();
        }
        finally
        {
            RequestContext.Remove(Orleans.Runtime.Placement.IPlacementDirector.PlacementHintKey);
        }
    }

    /// <summary>Starts a job the way the gateway does: on the node picked (or named), placed there by the hint.</summary>
    public async Task<JobStatus> RunAsync(string jobId, JobSpec spec, string? node = null)
    {
        var picked = await Client.GetGrain<INodeDirectoryGrain>(0).PickAsync(node);
        var silo = Cluster.Silos.Single(s => Address(s) == picked.Address);
        return await OnSiloAsync(silo, () => Client.GetGrain<IJobGrain>(jobId).StartAsync(spec with { Silo = picked.Address }));
    }

    /// <summary>Waits until every other silo's view says <paramref name="silo"/> is dead.</summary>
    public async Task WaitDeclaredDeadAsync(SiloHandle silo, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var management = Client.GetGrain<IManagementGrain>(0);
        while (true)
        {
            var hosts = await management.GetHosts(onlyActive: false);
            if (!hosts.TryGetValue(silo.SiloAddress, out var status) || status == SiloStatus.Dead)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{silo.Name} is still {status} after {timeout}");
            await Task.Delay(250);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Cluster is not null)
        {
            try
            {
                await Cluster.StopAllSilosAsync();
            }
            finally
            {
                await Cluster.DisposeAsync();
            }
        }

        await Redis.DisposeAsync();
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var configuration = siloBuilder.Configuration;
            var redis = StackExchange.Redis.ConfigurationOptions.Parse(configuration[RedisKey]!);
            siloBuilder.AddJobsRedisState(redis)
                .Configure<ClusterMembershipOptions>(o => SiloSetup.ConfigureMembership(o, configuration.GetSection(SiloSetup.MembershipSection)))
                .AddIncomingGrainCallFilter<StalledNodeInfo>();
            siloBuilder.Services.AddJobsPlatform();
            siloBuilder.Services.AddJobsNode(new Jobs.Silo.SiloOptions());
            siloBuilder.Services.Configure<JobOptions>(configuration.GetSection(JobOptions.Section));
            siloBuilder.Services.Configure<JobOptions>(o => o.DataDirectory = Path.Combine(configuration[DataKey]!, Guid.NewGuid().ToString("N")));
        }
    }

    private sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder clientBuilder) => clientBuilder
            .UseRedisClustering(configuration[RedisKey]!)
            .AddMemoryStreams(JobStreams.ProviderName);
    }
}
