namespace Jobs.Grains.Tests;

/// <summary>The server's defaults and maximums, as the grain applies them to what a job asks for.</summary>
public sealed class LimitsOptionsTests
{
    private static readonly LimitsOptions Configured = new()
    {
        Default = new LimitValues { Pids = 100, Memory = "256M", IoWriteBps = "10M" },
        Max = new LimitValues { Pids = 1000, Cpu = 2, Memory = "1G", IoWriteBps = "50M" },
    };

    [Fact(Timeout = 10_000)]
    public async Task A_job_gets_what_it_asks_else_the_default_else_the_maximum()
    {
        await Task.Yield();
        var asked = Configured.Resolve(new JobLimits { MaxProcesses = 10, CpuCores = 0.5 });
        var nothing = Configured.Resolve(null);

        Assert.Equal((10, 0.5, 256L << 20), (asked.MaxProcesses, asked.CpuCores, asked.MemoryBytes));
        Assert.Equal((100, 2.0, 256L << 20), (nothing.MaxProcesses, nothing.CpuCores, nothing.MemoryBytes));
        Assert.Equal([new IoRate(null, 10L << 20)], nothing.IoWrite);
        Assert.True(new LimitsOptions().Resolve(null).None);
    }

    [Fact(Timeout = 10_000)]
    public async Task The_nodes_process_limit_applies_only_where_the_configuration_sets_none_and_never_over_the_maximum()
    {
        await Task.Yield();
        var open = new LimitsOptions();
        var capped = new LimitsOptions { Max = new LimitValues { Pids = 300 } };

        Assert.Equal(4915, open.Resolve(null, nodeDefaultPids: 4915).MaxProcesses);
        // A job may still ask for more than the node's default where no maximum says otherwise.
        Assert.Equal(10000, open.Resolve(new JobLimits { MaxProcesses = 10000 }, nodeDefaultPids: 4915).MaxProcesses);
        Assert.Equal(100, Configured.Resolve(null, nodeDefaultPids: 4915).MaxProcesses);
        Assert.Equal(300, capped.Resolve(null, nodeDefaultPids: 4915).MaxProcesses);
        Assert.Null(open.Resolve(null, nodeDefaultPids: null).MaxProcesses);
    }

    [Fact(Timeout = 10_000)]
    public async Task More_than_a_maximum_is_refused_with_the_figures()
    {
        await Task.Yield();
        var memory = Assert.Throws<InvalidJobSpecException>(() => Configured.Resolve(new JobLimits { MemoryBytes = 2L << 30 }));
        var cpu = Assert.Throws<InvalidJobSpecException>(() => Configured.Resolve(new JobLimits { CpuCores = 2.5 }));
        var rate = Assert.Throws<InvalidJobSpecException>(() => Configured.Resolve(new JobLimits { IoWrite = [new IoRate("/dev/sda", 100L << 20)] }));

        Assert.Equal("a memory limit of 2 GiB is over the server's maximum of 1 GiB", memory.Message);
        Assert.Equal("a CPU limit of 2.5 cores is over the server's maximum of 2 cores", cpu.Message);
        Assert.Equal("a write rate of 100 MiB/s is over the server's maximum of 50 MiB/s", rate.Message);
    }

    [Fact(Timeout = 10_000)]
    public async Task A_rate_for_one_device_adds_to_the_default_and_one_for_every_device_replaces_it()
    {
        await Task.Yield();
        var one = Configured.Resolve(new JobLimits { IoWrite = [new IoRate("/dev/sda", 1L << 20)] });
        var every = Configured.Resolve(new JobLimits { IoWrite = [new IoRate(null, 1L << 20)] });

        Assert.Equal([new IoRate(null, 10L << 20), new IoRate("/dev/sda", 1L << 20)], one.IoWrite);
        Assert.Equal([new IoRate(null, 1L << 20)], every.IoWrite);
    }

    [Fact(Timeout = 10_000)]
    public async Task A_configuration_that_is_no_limit_or_a_default_over_its_maximum_stops_the_server()
    {
        await Task.Yield();
        var overMax = new LimitsOptions { Default = new LimitValues { Memory = "2G" }, Max = new LimitValues { Memory = "1G" } };
        var notASize = new LimitsOptions { Max = new LimitValues { Memory = "lots" } };

        Assert.Contains("default is over the maximum", Assert.Throws<InvalidOperationException>(overMax.Validate).Message);
        Assert.Contains("Jobs:Limits:Max:Memory is 'lots'", Assert.Throws<InvalidOperationException>(notASize.Validate).Message);
    }
}
