using Jobs.Platform;
using Jobs.TestChild;
using Jobs.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jobs.Grains.Tests;

/// <summary>An output log on a disk that fills up, and under a node's output budget.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class OutputLogDiskTests : IDisposable
{
    private const int Chunk = 64 * 1024;
    private readonly List<IDisposable> _cleanup = [];

    public void Dispose()
    {
        // Logs first, then the disks they are on.
        for (int i = _cleanup.Count - 1; i >= 0; i--)
        {
            _cleanup[i].Dispose();
        }
    }

    [Needs("root", Timeout = 30_000)]
    public async Task A_full_disk_loses_bytes_as_a_gap_in_place_and_output_is_stored_again_once_space_returns()
    {
        var disk = Track(Tmpfs.Mount(4));
        string filler = Path.Combine(disk.Path, "filler");
        await File.WriteAllBytesAsync(filler, new byte[2 * 1024 * 1024]);
        var clock = new Clock();
        var log = Track(new OutputLog(Path.Combine(disk.Path, "job"), 64L << 20, 4096, clock));

        long written = Write(log, 0, 4 * 1024 * 1024);
        long lostWhileFull = log.LostBytes;
        File.Delete(filler);
        clock.Advance(TimeSpan.FromSeconds(2));
        long end = Write(log, written, 1024 * 1024);

        Assert.InRange(lostWhileFull, 2L * 1024 * 1024, 4L * 1024 * 1024);
        Assert.Equal(OutputDropReason.DiskFull, log.LostReason);
        Assert.Equal(lostWhileFull, log.LostBytes);
        Assert.Equal(end, log.End);
        Assert.Equal(end, log.StdoutBytes);
        var (stored, gaps) = ReadAll(log);
        Assert.Equal(end - lostWhileFull, stored);
        Assert.Equal(lostWhileFull, gaps.Sum(g => g.Length));
        Assert.All(gaps, g => Assert.Equal(OutputDropReason.DiskFull, g.Reason));

        // Sealed and opened again from its index, it reads the same.
        log.Seal();
        var reopened = Track(OutputLog.Reopen(Path.Combine(disk.Path, "job"), 64L << 20, 4096, log.Index, clock));
        var (storedAgain, gapsAgain) = ReadAll(reopened);
        Assert.Equal(stored, storedAgain);
        Assert.Equal(gaps, gapsAgain);
        Assert.Equal(lostWhileFull, reopened.LostBytes);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_finished_jobs_output_is_removed_to_make_room_and_a_running_jobs_output_beyond_the_budget_is_lost()
    {
        // Off the test runner's thread, as a grain turn is.
        await Task.Yield();
        string scratch = Directory.CreateTempSubdirectory("jobs-budget-tests-").FullName;
        _cleanup.Add(new Deleted(scratch));
        var budget = new OutputBudget(3 * 1024 * 1024, NullLogger<OutputBudget>.Instance);
        var clock = new Clock();
        var first = Track(new OutputLog(Path.Combine(scratch, "first"), 64L << 20, 4096, clock, budget));
        var second = Track(new OutputLog(Path.Combine(scratch, "second"), 64L << 20, 4096, clock, budget));
        Write(first, 0, 2 * 1024 * 1024);
        first.Seal();

        // The running second job needs the first's room: the first's output goes, whole.
        long end = Write(second, 0, 2 * 1024 * 1024);
        Assert.True(first.Removed);
        Assert.False(Directory.Exists(Path.Combine(scratch, "first")));
        Assert.Equal(0, second.LostBytes);
        var records = first.Read(0, 1 << 20, out var skipped);
        Assert.Empty(records);
        Assert.Equal(new OutputGap(OutputMark.Zero, new OutputMark(2 * 1024 * 1024, 2 * 1024 * 1024, 0), OutputDropReason.Budget), skipped);

        // Nothing finished is left to remove: what does not fit is lost, and the log goes on.
        end = Write(second, end, 2 * 1024 * 1024);
        Assert.InRange(second.LostBytes, 1L * 1024 * 1024, 2L * 1024 * 1024);
        Assert.Equal(OutputDropReason.Budget, second.LostReason);
        Assert.InRange(budget.Used, 2L * 1024 * 1024, 3L * 1024 * 1024);
        var (stored, gaps) = ReadAll(second);
        Assert.Equal(end - second.LostBytes, stored);
        Assert.Equal(OutputDropReason.Budget, Assert.Single(gaps).Reason);

        // A job forgotten gives its room back.
        second.Dispose();
        Assert.Equal(0, budget.Used);
    }

    private T Track<T>(T disposable)
        where T : IDisposable
    {
        _cleanup.Add(disposable);
        return disposable;
    }

    // Appends the flood pattern from offset in 64 KiB reads; returns the new end.
    private static long Write(OutputLog log, long offset, long count)
    {
        for (long end = offset + count; offset < end; offset += Chunk)
        {
            var data = new byte[Chunk];
            Pattern.Fill(offset, data);
            log.Append(new ChildOutput(ChildStream.Stdout, data));
        }

        return offset;
    }

    // Reads the whole log as a follower would: every byte held is the pattern's at its offset, and
    // every byte not held is in a gap met where it lies.
    private static (long Stored, List<OutputGap> Gaps) ReadAll(OutputLog log)
    {
        long position = 0;
        long stored = 0;
        var gaps = new List<OutputGap>();
        while (position < log.End)
        {
            var records = log.Read(position, 1 << 20, out var skipped);
            if (skipped is not null)
            {
                Assert.Equal(position, skipped.Start.Position);
                gaps.Add(skipped);
                position = skipped.Resume.Position;
            }

            foreach (var record in records)
            {
                Assert.Equal(position, record.Position);
                Assert.Equal(record.Position, record.Offset);
                var expected = new byte[record.Data.Length];
                Pattern.Fill(record.Offset, expected);
                Assert.Equal(expected, record.Data);
                stored += record.Data.Length;
                position = record.EndPosition;
            }
        }

        Assert.Equal(log.End, position);
        return (stored, gaps);
    }

    private sealed class Clock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }

    private sealed class Deleted(string path) : IDisposable
    {
        public void Dispose() => Directory.Delete(path, recursive: true);
    }
}
