using System.Text;
using Jobs.Platform;

namespace Jobs.Grains.Tests;

public sealed class OutputLogTests
{
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
        var log = new OutputLog();
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

    [Fact(Timeout = 10_000)]
    public async Task A_position_past_the_end_is_refused()
    {
        var log = Log(("out", "abc"));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Task.Run(() => log.Read(4, 1024)));
    }

    private static OutputLog Log(params (string Stream, string Text)[] writes)
    {
        var log = new OutputLog();
        foreach (var (stream, text) in writes)
        {
            log.Append(new ChildOutput(stream == "out" ? ChildStream.Stdout : ChildStream.Stderr, Encoding.ASCII.GetBytes(text)));
        }

        return log;
    }
}
