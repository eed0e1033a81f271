using Jobs.Gateway;
using Jobs.Gateway.Services;
using Jobs.TestChild;
using Jobs.TestSupport;

namespace Jobs.Grains.Tests;

/// <summary>A finished job leaves memory when idle and answers from its record and spool when called again.</summary>
[Collection(ClusterCollection.Name)]
public sealed class FinishedJobTests(ClusterFixture fixture) : IDisposable
{
    private readonly JobOutputFollower _follower = new(fixture.Client);
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));

    public void Dispose() => _timeout.Dispose();

    [Fact(Timeout = 60_000)]
    public async Task A_deactivated_finished_job_answers_with_its_status_and_every_byte_from_its_spool()
    {
        const int size = 3 * 1024 * 1024 + 5;
        string id = JobIds.New();
        await Grain(id).StartAsync(new JobSpec(TestChildProgram.Path, ["flood", size.ToString(System.Globalization.CultureInfo.InvariantCulture), "4093"]));
        var live = await FollowResult.CollectAsync(_follower, id, _timeout.Token);
        var ended = await Grain(id).GetStatusAsync();

        await Collection.CollectIdleAsync(fixture.Client, id);

        Assert.True(Directory.Exists(fixture.JobFolder(id)), "the spool of a finished job goes only when it is forgotten");
        var status = await Grain(id).GetStatusAsync();
        Assert.Equal(ended, status with { Args = ended.Args });
        Assert.Equal(ended.Args, status.Args);
        var again = await FollowResult.CollectAsync(_follower, id, _timeout.Token);
        Assert.Equal(live.Stdout, again.Stdout);
        Assert.Equal(Expected(0, size), again.Stdout);
        Assert.Equal(JobState.Exited, again.End!.State);
        Assert.Equal(size, again.End.StdoutBytes);

        // Resuming by offset uses the index rebuilt from the frames.
        await Collection.CollectIdleAsync(fixture.Client, id);
        const long offset = 2_000_001;
        long position = await Grain(id).FindPositionAsync(OutputStreamKind.Stdout, offset);
        var resumed = new List<byte>();
        long first = -1;
        await foreach (var item in _follower.FollowAsync(id, position, _timeout.Token))
        {
            if (item.Output is { } record)
            {
                first = first < 0 ? record.Offset : first;
                resumed.AddRange(record.Data);
            }
        }

        Assert.InRange(first, 0, offset);
        Assert.Equal(Expected(offset, size - offset), resumed.Skip((int)(offset - first)).ToArray());

        Assert.True(await Grain(id).ForgetAsync());
        Assert.False(Directory.Exists(fixture.JobFolder(id)));
        await Assert.ThrowsAsync<JobNotFoundException>(Grain(id).GetStatusAsync);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_deactivated_finished_job_keeps_the_order_of_stdout_and_stderr()
    {
        string id = JobIds.New();
        await Grain(id).StartAsync(new JobSpec(TestChildProgram.Path, ["interleave", "50", "0.002"]));
        var live = await Records(id);

        await Collection.CollectIdleAsync(fixture.Client, id);
        var again = await Records(id);

        // Reads from the spool may merge adjacent records of one stream: the runs between switches are the order.
        Assert.Equal(Runs(live), Runs(again));
        Assert.True(Runs(again).Count > 4, "interleave writes many runs of each stream, apart in time");
        Assert.True(await Grain(id).ForgetAsync());
    }

    [Fact(Timeout = 60_000)]
    public async Task A_job_without_output_is_answered_after_deactivation_too()
    {
        string id = JobIds.New();
        await Grain(id).StartAsync(new JobSpec(TestChildProgram.Path, ["exit", "3"]));
        var live = await FollowResult.CollectAsync(_follower, id, _timeout.Token);

        await Collection.CollectIdleAsync(fixture.Client, id);

        var again = await FollowResult.CollectAsync(_follower, id, _timeout.Token);
        Assert.Equal(3, again.End!.ExitCode);
        Assert.Equal(live.End!.EndedAt, again.End.EndedAt);
        Assert.Empty(again.Stdout);
        Assert.True(await Grain(id).ForgetAsync());
    }

    private async Task<List<OutputRecord>> Records(string id)
    {
        var records = new List<OutputRecord>();
        await foreach (var item in _follower.FollowAsync(id, 0, _timeout.Token))
        {
            if (item.Output is { } record)
            {
                records.Add(record);
            }
        }

        return records;
    }

    private static List<(OutputStreamKind Stream, long Position, string Text)> Runs(List<OutputRecord> records)
    {
        var runs = new List<(OutputStreamKind Stream, long Position, string Text)>();
        foreach (var record in records)
        {
            string text = System.Text.Encoding.UTF8.GetString(record.Data);
            if (runs.Count > 0 && runs[^1].Stream == record.Stream)
            {
                runs[^1] = runs[^1] with { Text = runs[^1].Text + text };
            }
            else
            {
                runs.Add((record.Stream, record.Position, text));
            }
        }

        return runs;
    }

    private IJobGrain Grain(string id) => fixture.Client.GetGrain<IJobGrain>(id);

    private static byte[] Expected(long offset, long size)
    {
        var bytes = new byte[size];
        Pattern.Fill(offset, bytes);
        return bytes;
    }
}
