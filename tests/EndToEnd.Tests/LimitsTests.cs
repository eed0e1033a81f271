using Grpc.Core;
using Jobs.TestSupport;

namespace Jobs.EndToEnd.Tests;

/// <summary>Limits and isolation through the CLI, against a server with configured defaults and maximums.</summary>
public sealed class LimitsTests : IAsyncLifetime
{
    private readonly List<string> _jobs = [];
    private ServerProcess _server = null!;

    private string Endpoint => _server.Endpoint;

    public async Task InitializeAsync() =>
        _server = await ServerProcess.StartCombinedAsync("--Jobs:Limits:Default:Pids=500", "--Jobs:Limits:Max:Memory=256M");

    public async Task DisposeAsync()
    {
        foreach (string id in _jobs)
        {
            await Cli.RunAsync(Endpoint, "kill", "--grace", "0s", id);
        }

        await _server.DisposeAsync();
    }

    [Needs("cgroup:memory", "cgroup:pids", Timeout = 120_000)]
    public async Task A_job_over_its_memory_limit_is_reported_out_of_memory()
    {
        var run = await Cli.RunAsync(Endpoint, "run", "--wait", "--memory", "32M", "--", "dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1");
        string id = await StartAsync("--memory", "32M", "--", "dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1");
        await Cli.RunAsync(Endpoint, "wait", id);
        var ps = await Cli.RunAsync(Endpoint, "ps", id);

        Assert.Equal(128 + 9, run.ExitCode);
        string[] lines = StatusLines.WithoutNodeAndUser(ps.StdoutText).Split('\n');
        Assert.Equal(["Killed signal=SIGKILL (out of memory)", "limits: pids=500 memory=32 MiB"], lines[..2]);
        // Its peak is the limit it hit; memory now and tasks are gone with it.
        Assert.Matches(@"^usage: cpu=[\d.]+s memory-peak=3[12](\.\d+)? MiB io-read=\S+ \S+ io-write=\S+ \S+$", lines[2]);
    }

    [Needs("cgroup:cpu", "isolation", Timeout = 120_000)]
    public async Task Cpu_limit_and_isolation_reach_the_job_and_ps_shows_them()
    {
        string id = await StartAsync("--cpu", "0.5", "--isolate", "--", "sh", "-c", "echo pid=$$; exec sleep 600");
        var ps = await Cli.RunAsync(Endpoint, "ps", id);
        int pid = StatusLines.Pid(ps.StdoutText);
        string quota = File.Exists("/sys/fs/cgroup/cgroup.controllers")
            ? File.ReadAllText(Machine.CgroupFile(pid, "cpu", "cpu.max")!).Trim()
            : File.ReadAllText(Machine.CgroupFile(pid, "cpu", "cpu.cfs_quota_us")!).Trim();

        Assert.Equal("limits: pids=500 cpu=0.5 memory=256 MiB isolated", ps.StdoutText.Split('\n')[1]);
        Assert.True(quota is "50000" or "50000 100000", quota);
        await Cli.RunAsync(Endpoint, "kill", "--grace", "0s", id);
        Assert.Equal("pid=1\n", (await Cli.RunAsync(Endpoint, "logs", id)).StdoutText);
    }

    [Needs("isolation", Timeout = 120_000)]
    public async Task An_isolated_job_lists_only_loopback_in_sys_class_net_and_sys_is_read_only()
    {
        string id = await StartAsync("--isolate", "--", "sh", "-c", "ls /sys/class/net; touch /sys/jobs-test 2>&1 | grep -o 'Read-only file system'");

        var logs = await Cli.RunAsync(Endpoint, "logs", id);

        Assert.Equal("lo\nRead-only file system\n", logs.StdoutText);
        Assert.StartsWith("Exited code=0\n", StatusLines.WithoutNodeAndUser((await Cli.RunAsync(Endpoint, "ps", id)).StdoutText));
    }

    [Fact(Timeout = 120_000)]
    public async Task Asking_for_more_than_the_servers_maximum_is_refused_and_nothing_runs()
    {
        var cli = await Cli.RunAsync(Endpoint, "run", "--memory", "1G", "--", "true");
        var (client, channel) = GrpcClients.Create(Endpoint, GrpcClients.Client1);
        using (channel)
        {
            var request = new Protos.RunRequest { Command = "true", Limits = new Protos.Limits { MemoryBytes = 1L << 30 } };
            var error = await Assert.ThrowsAsync<RpcException>(async () => await client.RunAsync(request));
            Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        }

        Assert.Equal(1, cli.ExitCode);
        Assert.Contains("a memory limit of 1 GiB is over the server's maximum of 256 MiB", cli.Stderr);
    }

    [Theory(Timeout = 120_000)]
    [InlineData(new[] { "run", "--memory", "lots", "--", "true" }, "'lots' is not a size")]
    [InlineData(new[] { "run", "--cpu", "0", "--", "true" }, "--cpu must be at least 0.01")]
    [InlineData(new[] { "run", "--io-read-bps", "/dev/sda=", "--", "true" }, "--io-read-bps takes RATE or DEVICE=RATE")]
    [InlineData(new[] { "run", "--io-write-bps", "/dev/jobs-no-such-disk=1M", "--", "true" }, "'/dev/jobs-no-such-disk' is not a block device of the server")]
    public async Task Bad_limits_get_one_line_on_stderr_and_a_failing_exit_code(string[] args, string message)
    {
        var result = await Cli.RunAsync(Endpoint, args);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(message, result.Stderr);
        Assert.Single(result.Stderr.TrimEnd('\n').Split('\n'));
    }

    [Needs("root", Timeout = 120_000)]
    public async Task Isolation_is_refused_with_failed_precondition_where_the_server_lacks_the_right()
    {
        // The same server without CAP_SYS_ADMIN, as on a host that does not grant it.
        await using var server = await ServerProcess.StartCombinedUnderAsync(["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin", "--"]);
        var cli = await Cli.RunAsync(server.Endpoint, "run", "--isolate", "--", "true");
        var (client, channel) = GrpcClients.Create(server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            var error = await Assert.ThrowsAsync<RpcException>(async () => await client.RunAsync(new Protos.RunRequest { Command = "true", Isolate = true }));
            Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        }

        Assert.Equal(1, cli.ExitCode);
        Assert.Contains("the server cannot isolate jobs here", cli.Stderr);
        Assert.Equal(0, (await Cli.RunAsync(server.Endpoint, "run", "--wait", "--", "true")).ExitCode);
    }

    private async Task<string> StartAsync(params string[] args)
    {
        var run = await Cli.RunAsync(Endpoint, ["run", .. args]);
        Assert.True(run.ExitCode == 0, run.ToString());
        string id = run.StdoutText.Trim();
        _jobs.Add(id);
        return id;
    }
}
