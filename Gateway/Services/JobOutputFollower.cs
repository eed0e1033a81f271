using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Jobs.Grains;
using Orleans.Streams;

namespace Jobs.Gateway.Services;

/// <summary>
/// Follows a job's output from any position to its end: every byte once, in order. Notices on the
/// job's Orleans stream say that output up to a position exists (or that the job ended); every byte
/// is read by position from the grain, so none depends on stream delivery (streams do not replay,
/// and a notice can be lost: a follow with no notice for a second reads anyway).
/// </summary>
public sealed class JobOutputFollower(IClusterClient client, SharedReads reads)
{
    /// <summary>A follower whose follows share reads only among themselves.</summary>
    public JobOutputFollower(IClusterClient client)
        : this(client, new SharedReads())
    {
    }

    // Per read of a follower that is behind; with one read ahead, each follower holds two. 1 MiB
    // reads made 32 followers of one job peak at 533-577 MB of server RSS, 256 KiB at 268-274 MB,
    // at the same aggregate rate (bench fanout).
    internal const int ReadSize = 256 * 1024;

    // What all follows on this gateway hold in reads at once, about: past 32 follows each reads
    // less, down to one spool frame (64 KiB). Memory grows with what is in flight, and more than by
    // it: whatever is held when the GC runs is promoted and stays until a gen1 or gen2 collection.
    private const long ReadBudget = 16L * 1024 * 1024;
    private const int MinReadSize = 64 * 1024;

    private int _open;

    // With no notice for this long, read anyway: a lost notice (even the final one) costs a follower
    // at most this delay, never a follow that does not end.
    private static readonly TimeSpan QuietRead = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Output from <paramref name="position"/> up to what the job had written when this started,
    /// without following; the final status too when the job had ended by then.
    /// </summary>
    public async IAsyncEnumerable<FollowItem> SnapshotAsync(string jobId, long position, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var grain = client.GetGrain<IJobGrain>(jobId);
        long next = position;
        long end = -1;
        using var open = Open();
        while (!cancellationToken.IsCancellationRequested)
        {
            var slice = await grain.ReadOutputAsync(next, ReadSizeNow);
            end = end < 0 ? slice.EndPosition : end;
            var records = slice.Records.Where(r => r.Position < end).ToArray();
            if (Skipped(slice, next) is { } gap)
            {
                yield return new FollowItem(null, null, gap.Resume) { More = records.Length > 0, Gap = gap };
            }

            for (int i = 0; i < records.Length; i++)
            {
                yield return new FollowItem(records[i], null) { More = i < records.Length - 1 };
            }

            next = slice.NextPosition;
            if (next >= end)
            {
                if (slice.Final is not null && next >= slice.EndPosition)
                {
                    yield return new FollowItem(null, slice.Final);
                }

                yield break;
            }
        }
    }

    /// <summary>Output from <paramref name="position"/> (0: the first byte) until the job has ended, then its final status.</summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    public async IAsyncEnumerable<FollowItem> FollowAsync(string jobId, long position, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var grain = client.GetGrain<IJobGrain>(jobId);

        // Small and lossy on purpose: a follower that falls behind reads by position instead.
        var notices = Channel.CreateBounded<OutputNotice>(new BoundedChannelOptions(64)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        var stream = client.GetStreamProvider(JobStreams.ProviderName)
            .GetStream<OutputNotice>(StreamId.Create(JobStreams.OutputNamespace, jobId));

        using var open = Open();
        using var follow = reads.Follow(jobId);

        // Subscribe before the first read: whatever is published after the subscription is seen
        // live, and everything before it is within the read.
        var subscription = await stream.SubscribeAsync((notice, _) =>
        {
            notices.Writer.TryWrite(notice);
            return Task.CompletedTask;
        });
        try
        {
            long next = position;
            while (true)
            {
                OutputSlice slice;
                bool behind;
                var reading = ReadAsync(grain, jobId, next, cancellationToken);
                do
                {
                    slice = await reading;
                    var gap = Skipped(slice, next);
                    next = slice.NextPosition;

                    // Read ahead while this slice goes out to the caller: the grain and the network overlap.
                    behind = next < slice.EndPosition;
                    if (behind)
                    {
                        reading = ReadAsync(grain, jobId, next, cancellationToken);
                    }

                    if (gap is not null)
                    {
                        yield return new FollowItem(null, null, gap.Resume) { More = slice.Records.Length > 0, Gap = gap };
                    }

                    for (int i = 0; i < slice.Records.Length; i++)
                    {
                        yield return new FollowItem(slice.Records[i], null) { More = i < slice.Records.Length - 1 };
                    }
                }
                while (behind);

                if (slice.Final is not null)
                {
                    yield return new FollowItem(null, slice.Final);
                    yield break;
                }

                // Live: wait for a notice of output past what was delivered, then read it.
                while (await NextNoticeAsync(notices.Reader, cancellationToken) is { } notice)
                {
                    if (next < notice.End)
                    {
                        break;
                    }

                    if (notice.Final is not null)
                    {
                        yield return new FollowItem(null, notice.Final);
                        yield break;
                    }
                }
            }
        }
        finally
        {
            try
            {
                await subscription.UnsubscribeAsync();
            }
            catch (Exception e) when (NodeFaults.IsTransient(e))
            {
                // The subscription's silo is gone; its subscriptions went with it or are in the store.
            }
        }
    }

    /// <summary>
    /// Like <see cref="FollowAsync"/>, for an attach: live output is waited for on the grain
    /// (<see cref="IJobGrain.WaitOutputAsync"/>), which answers as soon as the job writes, rather
    /// than announced by stream notices, which memory streams deliver on a polling period
    /// (100 ms by default): too slow for a key's echo.
    /// </summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    public async IAsyncEnumerable<FollowItem> FollowLiveAsync(string jobId, long position, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var grain = client.GetGrain<IJobGrain>(jobId);
        using var open = Open();
        long next = position;
        while (true)
        {
            var slice = await WaitAsync(grain, next, cancellationToken);
            var gap = Skipped(slice, next);
            next = slice.NextPosition;
            if (gap is not null)
            {
                yield return new FollowItem(null, null, gap.Resume) { More = slice.Records.Length > 0, Gap = gap };
            }

            for (int i = 0; i < slice.Records.Length; i++)
            {
                yield return new FollowItem(slice.Records[i], null) { More = i < slice.Records.Length - 1 };
            }

            if (slice.Final is not null && next >= slice.EndPosition)
            {
                yield return new FollowItem(null, slice.Final);
                yield break;
            }
        }
    }

    // Each wait ends within this, so that a detached attach's last call is not left long on the grain.
    private static readonly TimeSpan LiveWait = TimeSpan.FromSeconds(5);

    private async Task<OutputSlice> WaitAsync(IJobGrain grain, long position, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                // The grain call goes on after a cancellation (it ends by itself within LiveWait).
                return await grain.WaitOutputAsync(position, ReadSizeNow, LiveWait).WaitAsync(cancellationToken);
            }
            catch (Exception e) when (NodeFaults.IsTransient(e) && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(RetryDelay, cancellationToken);
            }
        }
    }

    // What a slice says is not held from the position asked for on; a grain that names no gap
    // (an older one) has only the cap's drop, before its first mark.
    private static OutputGap? Skipped(OutputSlice slice, long position) =>
        slice.Skipped ?? (slice.First.Position > position ? new OutputGap(OutputMark.Zero, slice.First, OutputDropReason.Cap) : null);

    // A node that dies is not known dead at once: until it is, calls to its jobs fail or time out.
    // Then a read is answered again, for a job on a node that is gone with its LOST status.
    // Followers of one job at one position share the read (SharedReads).
    private async Task<OutputSlice> ReadAsync(IJobGrain grain, string jobId, long position, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return await reads.ReadAsync(grain, jobId, position, ReadSizeNow);
            }
            catch (Exception e) when (NodeFaults.IsTransient(e) && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(RetryDelay, cancellationToken);
            }
        }
    }

    // Two reads per follow (one ahead) share the budget; one follow, or a few dozen, read the most.
    private int ReadSizeNow => (int)Math.Clamp(ReadBudget / (2L * Math.Max(1, Volatile.Read(ref _open))), MinReadSize, ReadSize);

    private OpenFollow Open()
    {
        Interlocked.Increment(ref _open);
        return new OpenFollow(this);
    }

    private static async Task<OutputNotice?> NextNoticeAsync(ChannelReader<OutputNotice> reader, CancellationToken cancellationToken)
    {
        if (reader.TryRead(out var notice))
        {
            return notice;
        }

        using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        quiet.CancelAfter(QuietRead);
        try
        {
            return await reader.WaitToReadAsync(quiet.Token) && reader.TryRead(out notice) ? notice : null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private sealed class OpenFollow(JobOutputFollower follower) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref follower._open);
            }
        }
    }
}
