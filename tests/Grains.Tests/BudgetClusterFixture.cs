using Orleans.TestingHost;

namespace Jobs.Grains.Tests;

/// <summary>A cluster with a 4 MiB budget for all jobs' output (<c>Jobs:MaxOutputBytesTotal</c>).</summary>
public sealed class BudgetClusterFixture : ClusterFixture
{
    public const long Budget = 4 * 1024 * 1024;

    protected override void AddSiloConfigurator(TestClusterBuilder builder) => builder.AddSiloBuilderConfigurator<BudgetSiloConfigurator>();

    private sealed class BudgetSiloConfigurator : LocalSiloConfigurator
    {
        private static readonly string Folder = Path.Combine(Path.GetTempPath(), "jobs-tests", Guid.NewGuid().ToString("N"));

        protected override string DataDirectory => Folder;

        protected override void Configure(JobOptions options)
        {
            options.MaxOutputBytesTotal = Budget;
            options.MaxOutputBytesPerJob = 64L * 1024 * 1024;
        }
    }
}

[CollectionDefinition(Name)]
public sealed class BudgetClusterCollection : ICollectionFixture<BudgetClusterFixture>
{
    public const string Name = "cluster with an output budget";
}
