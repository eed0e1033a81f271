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
        Task.WhenAll(_jobs.Select(KillIfKnownAsync)).Wait(TimeSpan.FromSeconds(30));
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
    public async Task A_follower_gets_the_last_mebibyte_of_a_job_that_exits_at_once()
    {
        var (id, _) = await StartAsync("flood", "1M", "1048576");

        var result = await FollowResult.CollectAsync(_follower, id, _timeout.Token);

        Assert.Equal(Expected(1024 * 1024), result.Stdout);
        Assert.Equal(0, result.End!.ExitCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task Twenty_concurrent_followers_get_identical_exact_output()
    {
        const int size = 6 * 1024 * 1024;
        var (id, _) = await StartAsync("flood", size.ToString(System.Globalization.CultureInfo.InvariantCulture), "1000");

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => FollowResult.CollectAsync(_follower, id, _timeout.Token)));

        var expected = Expected(size);
        Assert.All(results, r => Assert.True(expected.AsSpan().SequenceEqual(r.Stdout), "a follower's output differs"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Stdout_and_stderr_written_apart_in_time_keep_their_order()
    {
        // Across two pipes the order is the order the reads completed; writes well apart in time
        // must come out in the order they were made. "Well apart" is a second: on a loaded 2-core
        // machine one socket's read was seen to lag the other's by 0.6 s at 0.2 s apart, and by
        // more than 0.5 s once, with every test assembly running at once.
        var (id, _) = await StartAsync("interleave", "5", "1");

        var lines = new List<string>();
        await foreach (var item in _follower.FollowAsync(id, 0, _timeout.Token))
        {
            if (item.Output is { } record)
            {
                lines.AddRange(System.Text.Encoding.ASCII.GetString(record.Data).Split('\n', StringSplitOptions.RemoveEmptyEntries));
            }
        }

        Assert.Equal(Enumerable.Range(0, 5).SelectMany(i => new[] { $"out {i}", $"err {i}" }), lines);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_follow_can_resume_from_a_stream_offset()
    {
        const int size = 2 * 1024 * 1024;
        const long offset = 1_234_567;
        var (id, _) = await StartAsync("flood", size.ToString(System.Globalization.CultureInfo.InvariantCulture), "3000");
        await FollowResult.CollectAsync(_follower, id, _timeout.Token);

        long position = await Grain(id).FindPositionAsync(OutputStreamKind.Stdout, offset);
        var records = new List<OutputRecord>();
        await foreach (var item in _follower.FollowAsync(id, position, _timeout.Token))
        {
            if (item.Output is { } record)
            {
                records.Add(record);
            }
        }

        Assert.True(records[0].Offset <= offset, "resumed after the wanted byte");
        var bytes = records.SelectMany(r => r.Data).Skip((int)(offset - records[0].Offset)).ToArray();
        var expected = new byte[size - offset];
        Pattern.Fill(offset, expected);
        Assert.Equal(expected, bytes);
    }

    [Fact(Timeout = 60_000)]
    public async Task Forgetting_a_job_removes_its_output_folder()
    {
        var (id, _) = await StartAsync("flood", "300K");
        await FollowResult.CollectAsync(_follower, id, _timeout.Token);
        string folder = fixture.JobFolder(id);
        Assert.True(Directory.Exists(folder));

        Assert.True(await Grain(id).ForgetAsync());

        Assert.False(Directory.Exists(folder));
        await Assert.ThrowsAsync<JobNotFoundException>(Grain(id).GetStatusAsync);
    }

    [Fact(Timeout = 60_000)]
    public async Task Kill_stops_the_whole_process_tree()
    {
        string pidFile = Path.Combine(_scratch, "grandchild.pid");
        var (id, started) = await StartAsync("spawn-grandchild", pidFile);
        int grandchild = await Processes.ReadPidFileAsync(pidFile, TimeSpan.FromSeconds(20));
        try
        {
            var killed = await Grain(id).KillAsync(TimeSpan.FromSeconds(5));

            Assert.True(killed.Ended);
            Assert.Equal(EndReason.KilledByRequest, killed.EndReason);
            Assert.NotNull(killed.EndedAt);
            Assert.False(Processes.IsAlive(started.Pid), "the job's process outlived kill");
            Assert.False(Processes.IsAlive(grandchild), "the grandchild outlived kill");
            var again = await Grain(id).KillAsync(TimeSpan.Zero);
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

        // Killed once it has written its first line, however long the runtime took to start.
        await FirstOutput.WaitAsync(Grain(id), _timeout.Token);

        await Grain(id).KillAsync(TimeSpan.Zero);
        var result = await follow;

        Assert.Equal(EndReason.KilledByRequest, result.End!.EndReason);
        Assert.StartsWith("line 0\n", System.Text.Encoding.ASCII.GetString(result.Stdout));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_job_that_ignores_SIGTERM_is_SIGKILLed_after_the_grace()
    {
        var (id, _) = await StartAsync("ignore-sigterm", "600");
        // SIGTERM is ignored once the child said so ("ready"); before that it would end it at once
        // (a fixed wait was too short on a loaded machine).
        await FirstOutput.WaitAsync(Grain(id), _timeout.Token);

        var started = DateTime.UtcNow;

        var killed = await Grain(id).KillAsync(TimeSpan.FromSeconds(1));

        Assert.Equal((JobState.Killed, "SIGKILL", EndReason.KilledByRequest), (killed.State, killed.SignalName, killed.EndReason));
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(0.9), "SIGKILL came before the grace ended");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_timeout_stops_the_job_and_says_so()
    {
        string id = JobIds.New();
        _jobs.Add(id);
        await Grain(id).StartAsync(new JobSpec("sleep", ["600"]) { Timeout = TimeSpan.FromSeconds(1) });

        var result = await FollowResult.CollectAsync(_follower, id, _timeout.Token);

        Assert.Equal((JobState.Killed, "SIGTERM", EndReason.TimedOut), (result.End!.State, result.End.SignalName, result.End.EndReason));
    }

    [Fact(Timeout = 60_000)]
    public async Task An_unknown_signal_is_refused()
    {
        var (id, _) = await StartAsync("sleep", "600");

        await Assert.ThrowsAsync<InvalidRequestException>(() => Grain(id).SignalAsync("SIGNOPE"));
        Assert.Equal(JobState.Running, (await Grain(id).GetStatusAsync()).State);
    }

    [Fact(Timeout = 60_000)]
    public async Task Unknown_job_is_not_found()
    {
        var grain = Grain(JobIds.New());

        await Assert.ThrowsAsync<JobNotFoundException>(grain.GetStatusAsync);
        await Assert.ThrowsAsync<JobNotFoundException>(() => grain.KillAsync(TimeSpan.Zero));
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

    private async Task KillIfKnownAsync(string id)
    {
        try
        {
            await Grain(id).KillAsync(TimeSpan.Zero);
        }
        catch (JobNotFoundException)
        {
            // forgotten by the test itself
        }
    }

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
