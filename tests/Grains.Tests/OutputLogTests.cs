using System.Text;
using Jobs.Platform;
using Jobs.TestChild;

namespace Jobs.Grains.Tests;

public sealed class OutputLogTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("jobs-outputlog-tests-").FullName;
    private readonly List<OutputLog> _logs = [];

    public void Dispose()
    {
        _logs.ForEach(l => l.Dispose());
        Directory.Delete(_scratch, recursive: true);
    }

    [Fact(Timeout = 10_000)]
    public async Task Positions_count_both_streams_and_offsets_each_stream()
    {
        var log = Log(("out", "abc"), ("err", "XY"), ("out", "de"));

        var records = await Task.Run(() => log.Read(0, 1024));

        Assert.Equal(
            [(OutputStreamKind.Stdout, 0L, 0L, "abc"), (OutputStreamKind.Stderr, 0L, 3L, "XY"), (OutputStreamKind.Stdout, 3L, 5L, "de")],
            records.Select(r => (r.Stream, r.Offset, r.Position, Encoding.ASCII.GetString(r.Data))));
        Assert.Equal(7, log.End);
        Assert.Equal(5, log.StdoutBytes);
        Assert.Equal(2, log.StderrBytes);
    }

    [Fact(Timeout = 10_000)]
    public async Task Reads_keep_their_time_and_only_reads_close_in_time_are_merged()
    {
        // A hot window of 4 KiB, so the reads come back from the spool file.
        var clock = new ManualClock();
        var log = new OutputLog(Path.Combine(_scratch, "timed"), 1 << 20, 4096, clock);
        _logs.Add(log);
        var before = clock.GetUtcNow().UtcDateTime;
        log.Append(new ChildOutput(ChildStream.Stdout, Encoding.ASCII.GetBytes("a\n")));
        clock.Advance(TimeSpan.FromMilliseconds(9));
        log.Append(new ChildOutput(ChildStream.Stdout, Encoding.ASCII.GetBytes("b\n")));
        clock.Advance(TimeSpan.FromMilliseconds(41));
        log.Append(new ChildOutput(ChildStream.Stdout, Encoding.ASCII.GetBytes("c\n")));
        log.Append(new ChildOutput(ChildStream.Stderr, new byte[8192]));

        var records = await Task.Run(() => log.Read(0, 1024));

        Assert.Equal("a\nb\n", Encoding.ASCII.GetString(records[0].Data));
        Assert.Equal("c\n", Encoding.ASCII.GetString(records[1].Data));
        // A merged record carries the time of its first read.
        Assert.Equal(before.Ticks, records[0].Ticks);
        Assert.Equal(TimeSpan.FromMilliseconds(50).Ticks, records[1].Ticks - records[0].Ticks);
    }

    [Fact(Timeout = 10_000)]
    public async Task Reading_from_inside_a_record_returns_its_tail()
    {
        var log = Log(("out", "hello"), ("err", "world"));

        var records = await Task.Run(() => log.Read(7, 1024));

        var only = Assert.Single(records);
        Assert.Equal((OutputStreamKind.Stderr, 2L, 7L, "rld"), (only.Stream, only.Offset, only.Position, Encoding.ASCII.GetString(only.Data)));
    }

    [Fact(Timeout = 10_000)]
    public async Task Small_records_of_one_stream_are_merged_and_streams_never_are()
    {
        var log = Log(("out", "1\n"), ("out", "2\n"), ("out", "3\n"), ("err", "e\n"), ("out", "4\n"));

        var records = await Task.Run(() => log.Read(0, 1024));

        Assert.Equal(["1\n2\n3\n", "e\n", "4\n"], records.Select(r => Encoding.ASCII.GetString(r.Data)));
        Assert.Equal([0L, 6L, 8L], records.Select(r => r.Position));
    }

    [Fact(Timeout = 10_000)]
    public async Task A_read_stops_near_its_size_but_always_returns_something()
    {
        var log = NewLog();
        for (int i = 0; i < 10; i++)
        {
            log.Append(new ChildOutput(ChildStream.Stdout, new byte[64 * 1024]));
        }

        var small = await Task.Run(() => log.Read(0, 1));
        var bounded = await Task.Run(() => log.Read(0, 128 * 1024));
        var atEnd = await Task.Run(() => log.Read(log.End, 1024));

        Assert.Equal(64 * 1024, small.Sum(r => r.Data.Length));
        Assert.Equal(128 * 1024, bounded.Sum(r => r.Data.Length));
        Assert.Empty(atEnd);
    }

    [Fact(Timeout = 30_000)]
    public async Task Output_older_than_the_hot_window_is_read_back_exactly_from_the_spool()
    {
        var log = NewLog(hotWindow: 4096);
        var written = await Task.Run(() => AppendPattern(log, 3 * 1024 * 1024, seed: 7));

        var stdout = await Task.Run(() => ReadAll(log, 0, OutputStreamKind.Stdout, 100_000));
        var stderr = await Task.Run(() => ReadAll(log, 0, OutputStreamKind.Stderr, 100_000));

        Assert.Equal(written.Stdout, stdout);
        Assert.Equal(written.Stderr, stderr);
    }

    [Fact(Timeout = 30_000)]
    public async Task Reads_from_any_position_agree_with_the_whole()
    {
        var log = NewLog(hotWindow: 8192);
        await Task.Run(() => AppendPattern(log, 512 * 1024, seed: 3));
        var whole = await Task.Run(() => Flatten(log, 0));

        foreach (long position in new long[] { 1, 4095, 70_000, 300_001, log.End - 5000, log.End - 1 })
        {
            Assert.Equal(whole[(int)position..], await Task.Run(() => Flatten(log, position)));
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task The_cap_drops_the_oldest_output_and_reads_start_at_the_first_byte_held()
    {
        const long cap = 256 * 1024;
        var log = NewLog(cap: cap, hotWindow: 1024);
        await Task.Run(() => AppendPattern(log, 4 * 1024 * 1024, seed: 11));
        var first = log.First;

        var records = await Task.Run(() => log.Read(0, 4096));

        Assert.True(first.Position > 0, "nothing was dropped");
        Assert.InRange(log.HeldBytes, cap, cap + (cap / 8) + (64 * 1024));
        Assert.Equal(first.Position, records[0].Position);
        Assert.Equal(first.Position, first.StdoutOffset + first.StderrOffset);
        Assert.Equal(log.End - first.Position, Flatten(log, first.Position).Length);
    }

    [Fact(Timeout = 30_000)]
    public async Task Output_up_to_the_cap_is_all_kept_whatever_the_frame_overhead()
    {
        const long cap = 256 * 1024;
        var log = NewLog(cap: cap, hotWindow: 1024);
        for (int i = 0; i < cap / 16; i++)
        {
            await Task.Run(() => log.Append(new ChildOutput(ChildStream.Stdout, new byte[16])));
        }

        Assert.Equal(0, log.First.Position);
        Assert.Equal(cap, log.HeldBytes);
        Assert.True(log.SpooledBytes > cap);
    }

    [Fact(Timeout = 30_000)]
    public async Task Find_position_never_lands_after_the_wanted_byte()
    {
        var log = NewLog(hotWindow: 1024);
        await Task.Run(() => AppendPattern(log, 1024 * 1024, seed: 5));

        foreach (long offset in new long[] { 0, 1, 10_000, 200_000, log.StdoutBytes - 1 })
        {
            long position = log.FindPosition(OutputStreamKind.Stdout, offset);
            var records = await Task.Run(() => Records(log, position));
            var firstWithByte = records.First(r => r.Stream == OutputStreamKind.Stdout && r.Offset + r.Data.Length > offset);
            Assert.True(firstWithByte.Offset <= offset);
        }
    }

    [Fact(Timeout = 10_000)]
    public async Task Disposing_deletes_the_spool_files()
    {
        string directory = Path.Combine(_scratch, "job");
        var log = new OutputLog(directory, 1L << 20, 1024);
        log.Append(new ChildOutput(ChildStream.Stdout, new byte[100_000]));
        Assert.NotEmpty(Directory.GetFiles(directory));

        await Task.Run(log.Dispose);

        Assert.False(Directory.Exists(directory));
    }

    [Fact(Timeout = 10_000)]
    public async Task A_position_past_the_end_is_refused()
    {
        var log = Log(("out", "abc"));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Task.Run(() => log.Read(4, 1024)));
    }

    // Time stands still unless a test moves it, so reads made "at once" are merged however loaded the machine is.
    private OutputLog NewLog(long cap = 1L << 30, int hotWindow = 256 * 1024)
    {
        var log = new OutputLog(Path.Combine(_scratch, Guid.NewGuid().ToString("N")), cap, hotWindow, new ManualClock());
        _logs.Add(log);
        return log;
    }

    private OutputLog Log(params (string Stream, string Text)[] writes)
    {
        var log = NewLog();
        foreach (var (stream, text) in writes)
        {
            log.Append(new ChildOutput(stream == "out" ? ChildStream.Stdout : ChildStream.Stderr, Encoding.ASCII.GetBytes(text)));
        }

        return log;
    }

    // Reads of every size from 1 byte to 64 KiB, both streams, in a seeded order.
    private static (byte[] Stdout, byte[] Stderr) AppendPattern(OutputLog log, long total, int seed)
    {
        var random = new Random(seed);
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        long written = 0;
        while (written < total)
        {
            int size = random.Next(4) == 0 ? random.Next(1, 64) : random.Next(1, 64 * 1024);
            bool isOut = random.Next(3) != 0;
            var target = isOut ? stdout : stderr;
            var data = new byte[size];
            Pattern.Fill(target.Length, data);
            log.Append(new ChildOutput(isOut ? ChildStream.Stdout : ChildStream.Stderr, data));
            target.Write(data);
            written += size;
        }

        return (stdout.ToArray(), stderr.ToArray());
    }

    private static List<OutputRecord> Records(OutputLog log, long position)
    {
        var records = new List<OutputRecord>();
        while (position < log.End)
        {
            var batch = log.Read(position, 100_000);
            Assert.Equal(position, batch[0].Position);
            records.AddRange(batch);
            position = batch[^1].EndPosition;
        }

        return records;
    }

    private static byte[] ReadAll(OutputLog log, long position, OutputStreamKind stream, int _) =>
        [.. Records(log, position).Where(r => r.Stream == stream).SelectMany(r => r.Data)];

    private static byte[] Flatten(OutputLog log, long position) => [.. Records(log, position).SelectMany(r => r.Data)];

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
