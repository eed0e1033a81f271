using Jobs.TestSupport;
using Orleans.TestingHost;

namespace Jobs.Grains.Tests;

/// <summary>
/// A cluster whose data directory is on a 48 MiB tmpfs, with no output budget and a per-job cap
/// above it: output beyond the disk's size cannot be stored. Unmounted when the cluster is gone.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DiskFullClusterFixture : ClusterFixture, IAsyncLifetime
{
    public const int DiskMegabytes = 48;

    // Mounted before the silo starts (the silo configurator is made by type, so the path is static).
    private static readonly Lazy<Tmpfs> s_disk = new(() => Tmpfs.Mount(DiskMegabytes));

    public DiskFullClusterFixture() => _ = s_disk.Value;

    public Tmpfs Disk => s_disk.Value;

    async Task IAsyncLifetime.DisposeAsync()
    {
        try
        {
            await DisposeAsync();
        }
        finally
        {
            s_disk.Value.Dispose();
        }
    }

    protected override void AddSiloConfigurator(TestClusterBuilder builder) => builder.AddSiloBuilderConfigurator<DiskFullSiloConfigurator>();

    private sealed class DiskFullSiloConfigurator : LocalSiloConfigurator
    {
        protected override string DataDirectory => Path.Combine(s_disk.Value.Path, "data");

        protected override void Configure(JobOptions options)
        {
            options.MaxOutputBytesTotal = 0;
            options.MaxOutputBytesPerJob = 1L << 30;
        }
    }
}

[CollectionDefinition(Name)]
public sealed class DiskFullClusterCollection : ICollectionFixture<DiskFullClusterFixture>
{
    public const string Name = "cluster on a small disk";
}
