using Jobs.Platform.Storage;
using Jobs.Silo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace Jobs.Grains.Tests;

/// <summary>One in-process Orleans cluster with the real silo configuration, shared by the tests of a collection.</summary>
public class ClusterFixture : IAsyncLifetime
{
    public TestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    /// <summary>Where the silo spools a job's output.</summary>
    public string JobFolder(string jobId) => Data.JobFolder(jobId);

    private DataDirectory Data => ((InProcessSiloHandle)Cluster.Primary!).SiloHost.Services.GetRequiredService<DataDirectory>();

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(1);
        AddSiloConfigurator(builder);
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        string root = Data.Root;
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
    }

    protected virtual void AddSiloConfigurator(TestClusterBuilder builder) => builder.AddSiloBuilderConfigurator<SiloConfigurator>();

    /// <summary>The silo as the server configures it, with a data directory of its own.</summary>
    internal class SiloConfigurator : LocalSiloConfigurator
    {
        private static readonly string Folder = Path.Combine(Path.GetTempPath(), "jobs-tests", Guid.NewGuid().ToString("N"));

        protected override string DataDirectory => Folder;

        protected override void Configure(JobOptions options) => options.MaxOutputBytesPerJob = 64L * 1024 * 1024;
    }

    /// <summary>A one-silo server's configuration (localhost state, the platform, a node) with job options of a fixture's own.</summary>
    internal abstract class LocalSiloConfigurator : ISiloConfigurator
    {
        /// <summary>Where the silo spools output: a folder of the fixture's own.</summary>
        protected abstract string DataDirectory { get; }

        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.AddJobsLocalState();
            siloBuilder.Services.AddJobsPlatform();
            siloBuilder.Services.AddJobsNode(new SiloOptions());
            siloBuilder.Services.Configure<JobOptions>(o =>
            {
                o.DataDirectory = DataDirectory;
                Configure(o);
            });
        }

        /// <summary>The fixture's job options beyond the data directory.</summary>
        protected abstract void Configure(JobOptions options);
    }

    private sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder clientBuilder) =>
            clientBuilder.AddMemoryStreams(JobStreams.ProviderName);
    }
}
