using System.Globalization;
using Jobs.Gateway;
using Jobs.Gateway.Services;
using Jobs.TestSupport;

namespace Jobs.Grains.Tests;

[Collection(DiskFullClusterCollection.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DiskFullJobTests(DiskFullClusterFixture fixture) : IDisposable
{
    private readonly JobOutputFollower _follower = new(fixture.Client);
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(150));

    public void Dispose() => _timeout.Dispose();

    [Needs("root", Timeout = 180_000)]
    public async Task A_job_writing_more_than_the_disk_holds_runs_to_its_end_and_its_lost_bytes_are_counted_and_announced()
    {
        const long size = 120L * 1024 * 1024;
        string id = JobIds.New();
        var grain = fixture.Client.GetGrain<IJobGrain>(id);
        await grain.StartAsync(new JobSpec(TestChildProgram.Path, ["flood", size.ToString(CultureInfo.InvariantCulture)]));

        var followed = await FollowedOutput.FollowAsync(_follower, id, _timeout.Token);

        var end = Assert.IsType<JobStatus>(followed.End);
        Assert.Equal(JobState.Exited, end.State);
        Assert.Equal(0, end.ExitCode);
        Assert.Equal(size, end.StdoutBytes);
        Assert.Equal(OutputDropReason.DiskFull, end.OutputLostReason);
        Assert.False(end.OutputRemoved);
        Assert.InRange(end.OutputLostBytes, size - (DiskFullClusterFixture.DiskMegabytes * 1024L * 1024), size - 1);
        Assert.NotEmpty(followed.Gaps);
        Assert.All(followed.Gaps, g => Assert.Equal(OutputDropReason.DiskFull, g.Reason));
        Assert.Equal(end.OutputLostBytes, followed.SkippedBytes);
        Assert.Equal(size, followed.StoredBytes + end.OutputLostBytes);
        Assert.Equal(end with { Args = [] }, (await grain.GetStatusAsync()) with { Args = [] });

        // A follower after the end gets the same bytes and the same gaps.
        var again = await FollowedOutput.FollowAsync(_follower, id, _timeout.Token);
        Assert.Equal(followed.StoredBytes, again.StoredBytes);
        Assert.Equal(followed.SkippedBytes, again.SkippedBytes);
        Assert.Equal(end.OutputLostBytes, again.Gaps.Sum(g => g.Length));

        // Once it is removed the disk has room again, and the next job's output is all there.
        Assert.True(await grain.ForgetAsync());
        string next = JobIds.New();
        await fixture.Client.GetGrain<IJobGrain>(next).StartAsync(new JobSpec(TestChildProgram.Path, ["flood", "8M"]));
        var after = await FollowedOutput.FollowAsync(_follower, next, _timeout.Token);

        Assert.Equal(8L * 1024 * 1024, after.StoredBytes);
        Assert.Empty(after.Gaps);
        Assert.Equal(0, after.End!.OutputLostBytes);
        Assert.Equal(0, after.End.ExitCode);
    }
}
