using Jobs.Gateway;
using Jobs.Gateway.Services;
using Jobs.TestChild;
using Jobs.TestSupport;

namespace Jobs.Grains.Tests;

[Collection(ClusterCollection.Name)]
public sealed class JobGrainTests(ClusterFixture fixture) : IDisposable
{
    private readonly JobOutputFollower _follower = new(fixture.Client);
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));
    private readonly List<string> _jobs = [];
    private readonly string _scratch = Directory.CreateTempSubdirectory("jobs-grain-tests-").FullName;

    public void Dispose()
    {
        // Whatever a failed test left running is killed; finished jobs answer at once.
        Task.WhenAll(_jobs.Select(id => fixture.Client.GetGrain<IJobGrain>(id).KillAsync())).Wait(TimeSpan.FromSeconds(30));
        _timeout.Dispose();
        Directory.Delete(_scratch, recursive: true);
    }

    [Fact(Timeout = 60_000)]
    public async Task Run_reports_the_exit_code()
    {
        var (id, started) = await StartAsync("exit", "7");

        var result = await FollowResult.CollectAsync(_follower, id, _timeout.Token);

        Assert.Equal(JobState.Running, started.State);
        Assert.True(started.Pid > 0);
        Assert.Equal(JobState.Exited, result.End!.State);
        Assert.Equal(7, result.End.ExitCode);
        Assert.Equal(7, (await Grain(id).GetStatusAsync()).ExitCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task Late_follower_gets_the_output_from_the_first_byte()
    {
        const int size = 3 * 1024 * 1024 + 17;
        var (id, _) = await StartAsync("flood", size.ToString(System.Globalization.CultureInfo.InvariantCulture), "4093");
        await FollowResult.CollectAsync(_follower, id, _timeout.Token);

        var late = await FollowResult.CollectAsync(_follower, id, _timeout.Token);

        Assert.Equal(Expected(size), late.Stdout);
        Assert.Empty(late.Stderr);
        Assert.Equal(0, late.End!.ExitCode);
        Assert.Equal(size, late.End.StdoutBytes);
    }

    [Fact(Timeout = 60_000)]
    public async Task Followers_attached_at_different_times_get_identical_output()
    {
        var (id, _) = await StartAsync("drip", "150", "0.01");
        var early = FollowResult.CollectAsync(_follower, id, _timeout.Token);
        await Task.Delay(300);
        var middle = FollowResult.CollectAsync(_follower, id, _timeout.Token);
        await Task.Delay(300);
        var late = FollowResult.CollectAsync(_follower, id, _timeout.Token);

        var results = await Task.WhenAll(early, middle, late);

        string expected = string.Concat(Enumerable.Range(0, 150).Select(i => $"line {i}\n"));
        Assert.All(results, r => Assert.Equal(expected, System.Text.Encoding.ASCII.GetString(r.Stdout)));
        Assert.All(results, r => Assert.Equal(JobState.Exited, r.End!.State));
    }

    [Fact(Timeout = 60_000)]
    public async Task Stdout_and_stderr_are_kept_apart()
    {
        var (id, _) = await StartAsync("interleave", "100");

        var result = await FollowResult.CollectAsync(_follower, id, _timeout.Token);

        Assert.Equal(string.Concat(Enumerable.Range(0, 100).Select(i => $"out {i}\n")), System.Text.Encoding.ASCII.GetString(result.Stdout));
        Assert.Equal(string.Concat(Enumerable.Range(0, 100).Select(i => $"err {i}\n")), System.Text.Encoding.ASCII.GetString(result.Stderr));
    }

    [Fact(Timeout = 60_000)]
    public async Task Kill_stops_the_whole_process_tree()
    {
        string pidFile = Path.Combine(_scratch, "grandchild.pid");
        var (id, started) = await StartAsync("spawn-grandchild", pidFile);
        int grandchild = await Processes.ReadPidFileAsync(pidFile, TimeSpan.FromSeconds(20));
        try
        {
            var killed = await Grain(id).KillAsync();

            Assert.Equal(JobState.Killed, killed.State);
            Assert.Equal(9, killed.Signal);
            Assert.NotNull(killed.EndedAt);
            Assert.False(Processes.IsAlive(started.Pid), "the job's process outlived kill");
            Assert.False(Processes.IsAlive(grandchild), "the grandchild outlived kill");
            var again = await Grain(id).KillAsync();
            Assert.Equal((killed.State, killed.Signal, killed.EndedAt), (again.State, again.Signal, again.EndedAt));
        }
        finally
        {
            Processes.KillIfAlive(grandchild);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Following_a_killed_job_ends_with_its_final_status()
    {
        var (id, _) = await StartAsync("drip", "100000", "0.01");
        var follow = FollowResult.CollectAsync(_follower, id, _timeout.Token);
        await Task.Delay(200);

        await Grain(id).KillAsync();
        var result = await follow;

        Assert.Equal(JobState.Killed, result.End!.State);
        Assert.StartsWith("line 0\n", System.Text.Encoding.ASCII.GetString(result.Stdout));
    }

    [Fact(Timeout = 60_000)]
    public async Task Unknown_job_is_not_found()
    {
        var grain = Grain(JobIds.New());

        await Assert.ThrowsAsync<JobNotFoundException>(grain.GetStatusAsync);
        await Assert.ThrowsAsync<JobNotFoundException>(grain.KillAsync);
        await Assert.ThrowsAsync<JobNotFoundException>(() => grain.ReadOutputAsync(0, 1024));
    }

    [Fact(Timeout = 60_000)]
    public async Task Program_that_cannot_start_leaves_no_job_behind()
    {
        string id = JobIds.New();

        var error = await Assert.ThrowsAsync<JobStartFailedException>(() => Grain(id).StartAsync(new JobSpec("jobs-no-such-program", [])));

        Assert.Contains("No such file or directory", error.Message);
        await Assert.ThrowsAsync<JobNotFoundException>(Grain(id).GetStatusAsync);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_job_id_starts_one_job_only()
    {
        var (id, _) = await StartAsync("exit", "0");

        await Assert.ThrowsAsync<JobAlreadyExistsException>(() => Grain(id).StartAsync(new JobSpec(TestChildProgram.Path, ["exit", "0"])));
    }

    private IJobGrain Grain(string id) => fixture.Client.GetGrain<IJobGrain>(id);

    private async Task<(string Id, JobStatus Started)> StartAsync(params string[] args)
    {
        string id = JobIds.New();
        _jobs.Add(id);
        var started = await Grain(id).StartAsync(new JobSpec(TestChildProgram.Path, args));
        return (id, started);
    }

    private static byte[] Expected(int size)
    {
        var bytes = new byte[size];
        Pattern.Fill(0, bytes);
        return bytes;
    }
}
