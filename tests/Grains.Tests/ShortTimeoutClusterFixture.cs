using Orleans.Configuration;
using Orleans.TestingHost;

namespace Jobs.Grains.Tests;

/// <summary>
/// A cluster whose grain calls time out after 3 s (Orleans' default is 30 s), so that a kill with a
/// grace longer than any one call may wait is quick to test; one job per identity at most running.
/// </summary>
public sealed class ShortTimeoutClusterFixture : ClusterFixture
{
    public static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(3);

    protected override void AddSiloConfigurator(TestClusterBuilder builder)
    {
        builder.AddSiloBuilderConfigurator<ShortTimeoutSiloConfigurator>();
        builder.AddClientBuilderConfigurator<ShortTimeoutClientConfigurator>();
    }

    private sealed class ShortTimeoutSiloConfigurator : LocalSiloConfigurator, ISiloConfigurator
    {
        private static readonly string Folder = Path.Combine(Path.GetTempPath(), "jobs-tests", Guid.NewGuid().ToString("N"));

        protected override string DataDirectory => Folder;

        protected override void Configure(JobOptions options)
        {
            options.MaxOutputBytesPerJob = 1024 * 1024;
            options.MaxRunningJobsPerOwner = 1;
        }

        void ISiloConfigurator.Configure(ISiloBuilder siloBuilder)
        {
            Configure(siloBuilder);
            siloBuilder.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = ResponseTimeout);
        }
    }

    private sealed class ShortTimeoutClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(Microsoft.Extensions.Configuration.IConfiguration configuration, IClientBuilder clientBuilder) =>
            clientBuilder.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = ResponseTimeout);
    }
}

[CollectionDefinition(Name)]
public sealed class ShortTimeoutClusterCollection : ICollectionFixture<ShortTimeoutClusterFixture>
{
    public const string Name = "short response timeout cluster";
}
