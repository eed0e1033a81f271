using System.Collections.Concurrent;
using Jobs.Grains;

namespace Jobs.Gateway.Services;

/// <summary>
/// Reads of job output by position, shared by the follows of this gateway: followers of one job
/// at the same position (hundreds that started together, or streams stalled at the same place)
/// get one grain call and the same slice, whose records are immutable, instead of a call and a
/// copy each. A slice is shared only when it says more output follows it (the follower is behind:
/// its records are history, the same for every reader) and nothing in it was skipped; a follower
/// that caught up reads for itself, so what it learns of new output and of the job's end is as
/// fresh as its own subscription. Completed slices are kept only for a job that more than one
/// follow of this gateway follows (<see cref="Follow"/>), for <see cref="KeepFor"/> at most, and
/// the oldest go first while more than <see cref="MaxBytes"/> are kept: a lone follower's slices
/// die young, as they did before.
/// </summary>
public sealed class SharedReads
{
    internal static readonly TimeSpan KeepFor = TimeSpan.FromSeconds(1);
    internal const long MaxBytes = 16L * 1024 * 1024;

    private static readonly TimeSpan SweepEvery = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<(string Job, long Position), Entry> _entries = new();
    private readonly ConcurrentDictionary<string, int> _follows = new();
    private readonly Lock _sweep = new();
    private long _bytes;
    private long _lastSweep;
    private long _requests;
    private long _grainReads;

    private readonly TimeProvider _time;

    public SharedReads()
        : this(TimeProvider.System)
    {
    }

    internal SharedReads(TimeProvider time)
    {
        _time = time;
    }

    /// <summary>Bytes of the completed slices kept for sharing.</summary>
    internal long KeptBytes => Interlocked.Read(ref _bytes);

    /// <summary>Reads asked for, and reads made on grains for them (for tests).</summary>
    internal (long Requests, long GrainReads) Counts => (Interlocked.Read(ref _requests), Interlocked.Read(ref _grainReads));

    /// <summary>Counts a follow of <paramref name="jobId"/> until disposed: with two or more, its slices are kept to share.</summary>
    public IDisposable Follow(string jobId)
    {
        _follows.AddOrUpdate(jobId, 1, (_, count) => count + 1);
        return new FollowCount(this, jobId);
    }

    /// <summary>
    /// The output of <paramref name="jobId"/> from <paramref name="position"/>: the slice another follow
    /// read or is reading from there when it is one to share, else a read of its own.
    /// </summary>
    public async Task<OutputSlice> ReadAsync(IJobGrain grain, string jobId, long position, int maxBytes)
    {
        Interlocked.Increment(ref _requests);
        var key = (jobId, position);
        var entry = new Entry(_time.GetTimestamp(), grain, position, maxBytes);
        while (!_entries.TryAdd(key, entry))
        {
            if (!_entries.TryGetValue(key, out var existing))
            {
                continue;
            }

            if (existing.Expired(_time))
            {
                Remove(key, existing);
                continue;
            }

            try
            {
                var shared = await existing.Read.ConfigureAwait(false);
                if (Shareable(shared, position))
                {
                    return shared;
                }
            }
            catch (Exception)
            {
                // The other follow's read failed: this one makes its own, and meets its own failure.
            }

            Interlocked.Increment(ref _grainReads);
            return await grain.ReadOutputAsync(position, maxBytes).ConfigureAwait(false);
        }

        OutputSlice slice;
        try
        {
            Interlocked.Increment(ref _grainReads);
            slice = await entry.Start().ConfigureAwait(false);
        }
        catch
        {
            Remove(key, entry);
            throw;
        }

        if (!Shareable(slice, position) || !_follows.TryGetValue(jobId, out int follows) || follows < 2)
        {
            // Reads that joined it while it was made had it; nobody else will.
            Remove(key, entry);
            return slice;
        }

        Interlocked.Add(ref _bytes, entry.Account(slice));
        if (!_entries.TryGetValue(key, out var current) || current != entry)
        {
            // Swept while it was being counted: uncount it.
            Interlocked.Add(ref _bytes, -entry.Uncount());
        }

        Sweep();
        return slice;
    }

    // Records that are history: output follows them, nothing in them was skipped or dropped before them.
    // (A finished job's slices say so, and are history all the same.)
    private static bool Shareable(OutputSlice slice, long position) =>
        slice.Skipped is null && slice.First.Position <= position
        && slice.Records.Length > 0 && slice.NextPosition < slice.EndPosition;

    // Expired slices go, then the oldest while more than MaxBytes are kept (down to three quarters,
    // so that a steady stream of reads sorts the table once per many of them).
    private void Sweep()
    {
        long now = _time.GetTimestamp();
        bool over = Interlocked.Read(ref _bytes) > MaxBytes;
        if ((!over && _time.GetElapsedTime(Interlocked.Read(ref _lastSweep), now) < SweepEvery) || !_sweep.TryEnter())
        {
            return;
        }

        try
        {
            Interlocked.Exchange(ref _lastSweep, now);
            foreach (var (key, entry) in _entries)
            {
                if (entry.Expired(_time))
                {
                    Remove(key, entry);
                }
            }

            if (Interlocked.Read(ref _bytes) > MaxBytes)
            {
                foreach (var (key, entry) in _entries.Where(e => e.Value.Read.IsCompleted).OrderBy(e => e.Value.Started).ToList())
                {
                    if (Interlocked.Read(ref _bytes) <= MaxBytes / 4 * 3)
                    {
                        break;
                    }

                    Remove(key, entry);
                }
            }
        }
        finally
        {
            _sweep.Exit();
        }
    }

    private void Remove((string, long) key, Entry entry)
    {
        if (_entries.TryRemove(new KeyValuePair<(string, long), Entry>(key, entry)))
        {
            Interlocked.Add(ref _bytes, -entry.Uncount());
        }
    }

    private void Unfollow(string jobId)
    {
        while (true)
        {
            int count = _follows[jobId];
            if (count == 1
                ? _follows.TryRemove(new KeyValuePair<string, int>(jobId, 1))
                : _follows.TryUpdate(jobId, count - 1, count))
            {
                return;
            }
        }
    }

    private sealed class FollowCount(SharedReads reads, string jobId) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                reads.Unfollow(jobId);
            }
        }
    }

    private sealed class Entry(long started, IJobGrain grain, long position, int maxBytes)
    {
        private readonly TaskCompletionSource<OutputSlice> _read = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _counted;

        public long Started => started;

        /// <summary>Completes with the read made by the follow that added the entry.</summary>
        public Task<OutputSlice> Read => _read.Task;

        public bool Expired(TimeProvider time) => Read.IsCompleted && time.GetElapsedTime(started) >= KeepFor;

        // Made only once the entry is in the table, so that no read is made twice.
        public async Task<OutputSlice> Start()
        {
            try
            {
                var slice = await grain.ReadOutputAsync(position, maxBytes).ConfigureAwait(false);
                _read.SetResult(slice);
                return slice;
            }
            catch (Exception e)
            {
                _read.SetException(e);
                throw;
            }
        }

        /// <summary>Counts the slice's bytes as kept; returns them.</summary>
        public long Account(OutputSlice slice)
        {
            long bytes = slice.Records.Sum(r => (long)r.Data.Length);
            Interlocked.Exchange(ref _counted, bytes);
            return bytes;
        }

        /// <summary>The bytes still counted for it, now uncounted (0 when none are, or another call took them).</summary>
        public long Uncount() => Interlocked.Exchange(ref _counted, 0);
    }
}
