using System.Globalization;
using Jobs.Gateway;
using Jobs.Gateway.Services;
using Jobs.TestSupport;

namespace Jobs.Grains.Tests;

[Collection(BudgetClusterCollection.Name)]
public sealed class OutputBudgetTests(BudgetClusterFixture fixture) : IDisposable
{
    private const long JobBytes = 1536 * 1024;
    private readonly JobOutputFollower _follower = new(fixture.Client);
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(90));

    public void Dispose() => _timeout.Dispose();

    [Fact(Timeout = 120_000)]
    public async Task Finishing_jobs_push_out_the_oldest_finished_jobs_output_first_and_its_status_stays()
    {
        var ids = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            ids.Add(await RunToEndAsync(JobBytes));
        }

        // 3 x 1.5 MiB do not fit in 4 MiB: the first job's output went, the newer two stay whole.
        var first = await fixture.Client.GetGrain<IJobGrain>(ids[0]).GetStatusAsync();
        Assert.Equal(JobState.Exited, first.State);
        Assert.True(first.OutputRemoved);
        Assert.Equal(OutputDropReason.Budget, first.OutputLostReason);
        Assert.Equal(JobBytes, first.OutputLostBytes);
        Assert.False(Directory.Exists(fixture.JobFolder(ids[0])), "the removed job's output folder is still there");

        var late = await FollowedOutput.FollowAsync(_follower, ids[0], _timeout.Token);
        var gap = Assert.Single(late.Gaps);
        Assert.Equal(OutputDropReason.Budget, gap.Reason);
        Assert.Equal(JobBytes, gap.Resume.StdoutOffset);
        Assert.Equal(0, late.StoredBytes);
        Assert.True(late.End!.OutputRemoved);

        foreach (string id in ids[1..])
        {
            var kept = await FollowedOutput.FollowAsync(_follower, id, _timeout.Token);
            Assert.Equal(JobBytes, kept.StoredBytes);
            Assert.Empty(kept.Gaps);
            Assert.False(kept.End!.OutputRemoved);
        }

        // Deactivated and brought back, a removed job is still answered for as removed.
        await Collection.CollectIdleAsync(fixture.Client, ids[0]);
        Assert.True((await fixture.Client.GetGrain<IJobGrain>(ids[0]).GetStatusAsync()).OutputRemoved);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_running_job_whose_output_outgrows_the_budget_is_never_killed_and_counts_what_it_lost()
    {
        const long size = 12L * 1024 * 1024;
        string id = JobIds.New();
        await fixture.Client.GetGrain<IJobGrain>(id).StartAsync(new JobSpec(TestChildProgram.Path, ["flood", size.ToString(CultureInfo.InvariantCulture)]));

        var followed = await FollowedOutput.FollowAsync(_follower, id, _timeout.Token);

        var end = followed.End!;
        Assert.Equal(JobState.Exited, end.State);
        Assert.Equal(0, end.ExitCode);
        Assert.Equal(OutputDropReason.Budget, end.OutputLostReason);
        Assert.InRange(end.OutputLostBytes, size - BudgetClusterFixture.Budget, size - 1);
        Assert.Equal(size, followed.StoredBytes + end.OutputLostBytes);
        Assert.All(followed.Gaps, g => Assert.Equal(OutputDropReason.Budget, g.Reason));
    }

    private async Task<string> RunToEndAsync(long bytes)
    {
        string id = JobIds.New();
        await fixture.Client.GetGrain<IJobGrain>(id).StartAsync(new JobSpec(TestChildProgram.Path, ["flood", bytes.ToString(CultureInfo.InvariantCulture)]));
        var followed = await FollowedOutput.FollowAsync(_follower, id, _timeout.Token);
        Assert.Equal(bytes, followed.StoredBytes);
        return id;
    }
}
