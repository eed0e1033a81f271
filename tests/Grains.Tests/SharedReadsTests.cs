using System.Globalization;
using Jobs.Gateway;
using Jobs.Gateway.Services;
using Jobs.TestChild;
using Jobs.TestSupport;

namespace Jobs.Grains.Tests;

/// <summary>
/// Followers of one job at one position share a read and its slice; a lone follower, a follower
/// that caught up and a slice past its time read for themselves.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SharedReadsTests(ClusterFixture fixture) : IAsyncLifetime
{
    private const int Size = 4 * 1024 * 1024;
    private const int Read = 256 * 1024;
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));
    private readonly List<string> _jobs = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        // Each test's job and its spool go with it.
        foreach (string id in _jobs)
        {
            await Grain(id).ForgetAsync();
        }

        _timeout.Dispose();
    }

    [Fact(Timeout = 60_000)]
    public async Task Two_follows_of_a_job_at_one_position_get_one_grain_read_and_the_same_slice()
    {
        string id = await FinishedFloodAsync();
        var reads = new SharedReads();
        using var first = reads.Follow(id);
        using var second = reads.Follow(id);

        var a = await reads.ReadAsync(Grain(id), id, 0, Read);
        var b = await reads.ReadAsync(Grain(id), id, 0, Read);

        Assert.Same(a, b);
        Assert.Equal((2, 1), reads.Counts);
        Assert.Equal(Expected(0, a.NextPosition), a.Records.SelectMany(r => r.Data).ToArray());
        Assert.Equal(a.NextPosition, reads.KeptBytes);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_lone_follow_keeps_no_slice_and_reads_for_itself()
    {
        string id = await FinishedFloodAsync();
        var reads = new SharedReads();
        using var only = reads.Follow(id);

        var a = await reads.ReadAsync(Grain(id), id, 0, Read);
        var b = await reads.ReadAsync(Grain(id), id, 0, Read);

        Assert.NotSame(a, b);
        Assert.Equal((2, 2), reads.Counts);
        Assert.Equal(0, reads.KeptBytes);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_slice_that_reaches_the_end_of_the_output_is_never_shared()
    {
        string id = await FinishedFloodAsync();
        var reads = new SharedReads();
        using var first = reads.Follow(id);
        using var second = reads.Follow(id);
        long position = Size - 1000;

        var a = await reads.ReadAsync(Grain(id), id, position, Read);
        var b = await reads.ReadAsync(Grain(id), id, position, Read);

        Assert.Equal(a.EndPosition, a.NextPosition);
        Assert.NotSame(a, b);
        Assert.Equal((2, 2), reads.Counts);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_kept_slice_is_read_again_once_older_than_its_time()
    {
        string id = await FinishedFloodAsync();
        var time = new ManualTime();
        var reads = new SharedReads(time);
        using var first = reads.Follow(id);
        using var second = reads.Follow(id);

        var a = await reads.ReadAsync(Grain(id), id, 0, Read);
        time.Advance(SharedReads.KeepFor);
        var b = await reads.ReadAsync(Grain(id), id, 0, Read);

        Assert.NotSame(a, b);
        Assert.Equal((2, 2), reads.Counts);
        Assert.Equal(b.NextPosition, reads.KeptBytes);
    }

    [Fact(Timeout = 60_000)]
    public async Task Twenty_followers_of_one_job_share_reads_and_each_gets_every_byte()
    {
        string id = await FinishedFloodAsync();
        var reads = new SharedReads();
        var follower = new JobOutputFollower(fixture.Client, reads);

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => FollowResult.CollectAsync(follower, id, _timeout.Token))));

        var expected = Expected(0, Size);
        foreach (var result in results)
        {
            Assert.Equal(expected, result.Stdout);
            Assert.Equal(JobState.Exited, result.End!.State);
        }

        var (requests, grainReads) = reads.Counts;
        Assert.True(grainReads < requests / 2, $"{grainReads} grain reads for {requests} reads asked for");
        Assert.True(reads.KeptBytes <= SharedReads.MaxBytes);
    }

    private async Task<string> FinishedFloodAsync()
    {
        string id = JobIds.New();
        _jobs.Add(id);
        await Grain(id).StartAsync(new JobSpec(TestChildProgram.Path, ["flood", Size.ToString(CultureInfo.InvariantCulture)]));
        var result = await FollowResult.CollectAsync(new JobOutputFollower(fixture.Client), id, _timeout.Token);
        Assert.Equal(Size, result.Stdout.Length);
        return id;
    }

    private IJobGrain Grain(string id) => fixture.Client.GetGrain<IJobGrain>(id);

    private static byte[] Expected(long offset, long size)
    {
        var bytes = new byte[size];
        Pattern.Fill(offset, bytes);
        return bytes;
    }

    private sealed class ManualTime : TimeProvider
    {
        private long _ticks = 1;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }
}
