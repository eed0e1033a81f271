using Jobs.Gateway;
using Jobs.Gateway.Services;
using Jobs.TestChild;
using Jobs.TestSupport;

namespace Jobs.Grains.Tests;

[Collection(CappedClusterCollection.Name)]
public sealed class CappedJobTests(CappedClusterFixture fixture) : IDisposable
{
    private readonly JobOutputFollower _follower = new(fixture.Client);
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));

    public void Dispose() => _timeout.Dispose();

    [Fact(Timeout = 60_000)]
    public async Task The_cap_drops_the_oldest_bytes_and_a_follower_is_told_where_output_resumes()
    {
        const int size = 8 * 1024 * 1024;
        string id = JobIds.New();
        await fixture.Client.GetGrain<IJobGrain>(id).StartAsync(new JobSpec(TestChildProgram.Path, ["flood", size.ToString(System.Globalization.CultureInfo.InvariantCulture)]));

        var items = new List<FollowItem>();
        await foreach (var item in _follower.FollowAsync(id, 0, _timeout.Token))
        {
            items.Add(item);
        }

        // A follower from the first byte either kept up (no drop) or was told; after the job, a new one must be told.
        var late = new List<FollowItem>();
        await foreach (var item in _follower.FollowAsync(id, 0, _timeout.Token))
        {
            late.Add(item);
        }

        var dropped = Assert.IsType<OutputMark>(late[0].Dropped);
        Assert.True(dropped.StdoutOffset > 0);
        Assert.InRange(size - dropped.StdoutOffset, CappedClusterFixture.OutputCap / 2, CappedClusterFixture.OutputCap + (256 * 1024));
        var bytes = late.Where(i => i.Output is not null).SelectMany(i => i.Output!.Data).ToArray();
        var expected = new byte[size - dropped.StdoutOffset];
        Pattern.Fill(dropped.StdoutOffset, expected);
        Assert.Equal(expected, bytes);
        Assert.Equal(size, late[^1].End!.StdoutBytes);
        Assert.NotNull(items[^1].End);

        // Deactivated, it opens its spool again where the cap left it: the same mark, the same bytes.
        await Collection.CollectIdleAsync(fixture.Client, id);
        var reopened = new List<FollowItem>();
        await foreach (var item in _follower.FollowAsync(id, 0, _timeout.Token))
        {
            reopened.Add(item);
        }

        Assert.Equal(dropped, reopened[0].Dropped);
        Assert.Equal(bytes, reopened.Where(i => i.Output is not null).SelectMany(i => i.Output!.Data).ToArray());
        Assert.Equal(late[^1].End, reopened[^1].End! with { Args = late[^1].End!.Args });
    }

    [Fact(Timeout = 60_000)]
    public async Task The_oldest_finished_jobs_beyond_the_cap_are_forgotten_with_their_output()
    {
        var ids = new List<string>();
        for (int i = 0; i < CappedClusterFixture.FinishedJobs + 2; i++)
        {
            string id = JobIds.New();
            ids.Add(id);
            await fixture.Client.GetGrain<IJobGrain>(id).StartAsync(new JobSpec(TestChildProgram.Path, ["flood", "100K"]));
            await foreach (var _ in _follower.FollowAsync(id, 0, _timeout.Token))
            {
            }
        }

        await WaitUntilAsync(async () => await IsForgottenAsync(ids[0]) && await IsForgottenAsync(ids[1]));

        Assert.False(Directory.Exists(fixture.JobFolder(ids[0])), "a forgotten job's output folder is still there");
        Assert.True(Directory.Exists(fixture.JobFolder(ids[^1])), "the newest job's output folder is gone");
        Assert.Equal(JobState.Exited, (await fixture.Client.GetGrain<IJobGrain>(ids[^1]).GetStatusAsync()).State);
    }

    private async Task<bool> IsForgottenAsync(string id)
    {
        try
        {
            await fixture.Client.GetGrain<IJobGrain>(id).GetStatusAsync();
            return false;
        }
        catch (JobNotFoundException)
        {
            return true;
        }
    }

    private async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        while (!await condition())
        {
            await Task.Delay(50, _timeout.Token);
        }
    }
}
