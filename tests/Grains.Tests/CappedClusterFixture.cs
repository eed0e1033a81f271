using Jobs.Silo;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace Jobs.Grains.Tests;

/// <summary>A cluster with small caps: 1 MiB of output per job, 2 finished jobs kept.</summary>
public sealed class CappedClusterFixture : ClusterFixture
{
    public const long OutputCap = 1024 * 1024;
    public const int FinishedJobs = 2;

    protected override void AddSiloConfigurator(TestClusterBuilder builder) => builder.AddSiloBuilderConfigurator<CappedSiloConfigurator>();

    private sealed class CappedSiloConfigurator : ISiloConfigurator
    {
        public static string Directory { get; } = Path.Combine(Path.GetTempPath(), "jobs-tests", Guid.NewGuid().ToString("N"));

        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.AddJobsLocalState();
            siloBuilder.Services.AddJobsPlatform();
            siloBuilder.Services.AddJobsNode(new SiloOptions());
            siloBuilder.Services.Configure<JobOptions>(o =>
            {
                o.DataDirectory = Directory;
                o.MaxOutputBytesPerJob = OutputCap;
                o.MaxFinishedJobs = FinishedJobs;
            });
        }
    }
}

[CollectionDefinition(Name)]
public sealed class CappedClusterCollection : ICollectionFixture<CappedClusterFixture>
{
    public const string Name = "capped cluster";
}
