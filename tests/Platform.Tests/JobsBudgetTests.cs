namespace Jobs.Platform.Tests;

/// <summary>The memory all jobs of a node may use together, from the configuration and the machine's memory.</summary>
public sealed class JobsBudgetTests
{
    private const long GiB = 1024L * 1024 * 1024;
    private const long MiB = 1024L * 1024;

    [Fact(Timeout = 10_000)]
    public async Task By_default_jobs_get_the_machine_less_a_tenth_at_least_512_MiB_and_at_most_half()
    {
        await Task.Yield();

        Assert.Equal(24 * GiB - (24 * GiB / 10), PlatformOptions.JobsMemoryBudget(null, 24 * GiB));
        Assert.Equal(4 * GiB - (512 * MiB), PlatformOptions.JobsMemoryBudget(new PlatformOptions(), 4 * GiB));
        // A small machine keeps half for its jobs rather than none.
        Assert.Equal(300 * MiB, PlatformOptions.JobsMemoryBudget(null, 600 * MiB));
    }

    [Fact(Timeout = 10_000)]
    public async Task A_budget_or_a_reserve_in_the_configuration_wins_and_one_that_is_no_size_is_refused()
    {
        await Task.Yield();

        Assert.Equal(16 * GiB, PlatformOptions.JobsMemoryBudget(new PlatformOptions { JobsMaxMemory = "16G" }, 24 * GiB));
        Assert.Equal(0, PlatformOptions.JobsMemoryBudget(new PlatformOptions { JobsMaxMemory = "0" }, 24 * GiB));
        Assert.Equal(22 * GiB, PlatformOptions.JobsMemoryBudget(new PlatformOptions { MemoryReserve = "2G" }, 24 * GiB));
        Assert.Equal(18 * GiB, PlatformOptions.JobsMemoryBudget(new PlatformOptions { MemoryReserve = "25%" }, 24 * GiB));
        Assert.Contains("is not a size", Assert.Throws<InvalidOperationException>(() => PlatformOptions.JobsMemoryBudget(new PlatformOptions { JobsMaxMemory = "lots" }, 24 * GiB)).Message, StringComparison.Ordinal);
        Assert.Contains("leaves jobs no memory", Assert.Throws<InvalidOperationException>(() => PlatformOptions.JobsMemoryBudget(new PlatformOptions { MemoryReserve = "32G" }, 24 * GiB)).Message, StringComparison.Ordinal);
    }
}
