using System.Diagnostics;
using Jobs.Gateway;
using Jobs.Gateway.Services;
using Jobs.TestSupport;

namespace Jobs.Grains.Tests;

/// <summary>Kills and timeouts whose durations are longer than a grain call may last, or than a timer can hold.</summary>
[Collection(ShortTimeoutClusterCollection.Name)]
public sealed class LongKillTests(ShortTimeoutClusterFixture fixture) : IDisposable
{
    private readonly List<string> _jobs = [];
    private readonly string _scratch = Directory.CreateTempSubdirectory("jobs-long-kill-tests-").FullName;

    public void Dispose()
    {
        // Whatever a failed test left running is killed at once.
        Task.WhenAll(_jobs.Select(async id =>
        {
            try
            {
                await Grain(id).KillAsync(TimeSpan.Zero);
            }
            catch (JobNotFoundException)
            {
                // never started
            }
        })).Wait(TimeSpan.FromSeconds(30));
        Directory.Delete(_scratch, recursive: true);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_kill_with_a_grace_longer_than_the_response_timeout_answers_at_once_and_the_job_ends_after_the_grace()
    {
        var grace = ShortTimeoutClusterFixture.ResponseTimeout + TimeSpan.FromSeconds(5);
        string owner = $"long-kill-{Guid.NewGuid():N}";
        string id = await StartAsync(owner, "ignore-sigterm", "600");
        // SIGTERM is ignored once the child said so ("ready"); before that it would end it at once
        // (a fixed wait was too short on a loaded machine).
        await FirstOutput.WaitAsync(Grain(id));

        var clock = Stopwatch.StartNew();

        var answered = await Grain(id).KillAsync(grace);
        var answeredAfter = clock.Elapsed;
        var ended = await new JobEndWaiter(fixture.Client).WaitAsync(id, _ => true, new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);

        Assert.Equal(JobState.Running, answered.State);
        Assert.True(answeredAfter < ShortTimeoutClusterFixture.ResponseTimeout, $"the kill answered after {answeredAfter}");
        Assert.Equal((JobState.Killed, "SIGKILL", EndReason.KilledByRequest), (ended.State, ended.SignalName, ended.EndReason));
        Assert.True(clock.Elapsed >= grace - TimeSpan.FromMilliseconds(100), $"SIGKILL came {clock.Elapsed} after the kill, before the grace of {grace} ended");
        Assert.False(Processes.IsAlive(answered.Pid), "the job's process outlived its kill");
        // The slot of its owner (at most one running job) is free again.
        await StartAsync(owner, "exit", "0");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_kill_that_ends_the_job_quickly_still_answers_with_the_final_status()
    {
        string id = JobIds.New();
        _jobs.Add(id);
        await Grain(id).StartAsync(new JobSpec("sleep", ["600"]) { Owner = $"quick-kill-{Guid.NewGuid():N}" });

        var killed = await Grain(id).KillAsync(TimeSpan.FromSeconds(30));

        Assert.Equal((JobState.Killed, "SIGTERM", EndReason.KilledByRequest), (killed.State, killed.SignalName, killed.EndReason));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(100_000 * 3600.0)]
    [InlineData(49.72 * 24 * 3600)]
    [InlineData(-1.0)]
    public async Task A_timeout_no_timer_can_hold_is_refused_before_anything_is_spawned(double seconds)
    {
        string id = JobIds.New();
        _jobs.Add(id);
        string pidFile = Path.Combine(_scratch, $"{id}.pid");
        var spec = new JobSpec(TestChildProgram.Path, ["spawn-grandchild", pidFile]) { Timeout = TimeSpan.FromSeconds(seconds), Owner = "timeouts" };

        var error = await Assert.ThrowsAsync<InvalidJobSpecException>(() => Grain(id).StartAsync(spec));

        // The limit it names is one that is accepted: rounded down, not up to 50 days.
        Assert.EndsWith("the timeout must be positive and at most 49 days 17:02:47", error.Message);
        await Assert.ThrowsAsync<JobNotFoundException>(Grain(id).GetStatusAsync);
        // A child would have written its grandchild's pid at once; give it time to, under load.
        await Task.Delay(2000);
        Assert.False(File.Exists(pidFile), "the job's process was started");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_grace_longer_than_the_server_allows_is_refused_and_the_job_runs_on()
    {
        string id = await StartAsync($"grace-{Guid.NewGuid():N}", "sleep", "600");

        await Assert.ThrowsAsync<InvalidRequestException>(() => Grain(id).KillAsync(TimeSpan.FromDays(60)));

        Assert.Equal(JobState.Running, (await Grain(id).GetStatusAsync()).State);
    }

    private IJobGrain Grain(string id) => fixture.Client.GetGrain<IJobGrain>(id);

    private async Task<string> StartAsync(string owner, params string[] args)
    {
        string id = JobIds.New();
        _jobs.Add(id);
        await Grain(id).StartAsync(new JobSpec(TestChildProgram.Path, args) { Owner = owner });
        return id;
    }
}
