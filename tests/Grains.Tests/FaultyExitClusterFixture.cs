using Jobs.Platform;
using Jobs.Silo;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace Jobs.Grains.Tests;

/// <summary>A cluster whose jobs' exits cannot be read (<see cref="FaultyExitLauncher"/>); one running job per identity at most.</summary>
public sealed class FaultyExitClusterFixture : ClusterFixture
{
    protected override void AddSiloConfigurator(TestClusterBuilder builder) => builder.AddSiloBuilderConfigurator<FaultySiloConfigurator>();

    private sealed class FaultySiloConfigurator : LocalSiloConfigurator, ISiloConfigurator
    {
        private static readonly string Folder = Path.Combine(Path.GetTempPath(), "jobs-tests", Guid.NewGuid().ToString("N"));

        protected override string DataDirectory => Folder;

        protected override void Configure(JobOptions options) => options.MaxRunningJobsPerOwner = 1;

        void ISiloConfigurator.Configure(ISiloBuilder siloBuilder)
        {
            Configure(siloBuilder);

            // Registered after the platform's: the last registration is the one resolved.
            siloBuilder.Services.AddSingleton<IChildLauncher, FaultyExitLauncher>();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class FaultyExitClusterCollection : ICollectionFixture<FaultyExitClusterFixture>
{
    public const string Name = "faulty exit cluster";
}
