using Orleans.TestingHost;

namespace Jobs.Grains.Tests;

/// <summary>A cluster with small caps: 1 MiB of output per job, 2 finished jobs kept.</summary>
public sealed class CappedClusterFixture : ClusterFixture
{
    public const long OutputCap = 1024 * 1024;
    public const int FinishedJobs = 2;

    protected override void AddSiloConfigurator(TestClusterBuilder builder) => builder.AddSiloBuilderConfigurator<CappedSiloConfigurator>();

    private sealed class CappedSiloConfigurator : LocalSiloConfigurator
    {
        private static readonly string Folder = Path.Combine(Path.GetTempPath(), "jobs-tests", Guid.NewGuid().ToString("N"));

        protected override string DataDirectory => Folder;

        protected override void Configure(JobOptions options)
        {
            options.MaxOutputBytesPerJob = OutputCap;
            options.MaxFinishedJobs = FinishedJobs;
        }
    }
}

[CollectionDefinition(Name)]
public sealed class CappedClusterCollection : ICollectionFixture<CappedClusterFixture>
{
    public const string Name = "capped cluster";
}
