using System.Globalization;
using System.Text.RegularExpressions;
using Jobs.TestChild;
using Jobs.TestSupport;

namespace Jobs.EndToEnd.Tests;

/// <summary>The real server with its data directory on a 48 MiB tmpfs: a full disk costs output, never a job.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed partial class DiskFullTests : IAsyncLifetime
{
    private const long Size = 120L * 1024 * 1024;
    private Tmpfs _disk = null!;
    private ServerProcess _server = null!;

    private string Endpoint => _server.Endpoint;

    public async Task InitializeAsync()
    {
        _disk = Tmpfs.Mount(48);
        try
        {
            _server = await ServerProcess.StartCombinedAsync($"--Jobs:DataDirectory={Path.Combine(_disk.Path, "data")}", "--Jobs:MaxOutputBytesTotal=0");
        }
        catch
        {
            _disk.Dispose();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        try
        {
            await _server.DisposeAsync();
        }
        finally
        {
            _disk.Dispose();
        }
    }

    [Needs("root", Timeout = 240_000)]
    public async Task A_job_writing_120_MB_into_a_48_MB_data_directory_exits_0_ps_reports_the_lost_bytes_and_a_later_job_is_whole()
    {
        var run = await Cli.RunAsync(Endpoint, "run", "--", TestChildProgram.Path, "flood", Size.ToString(CultureInfo.InvariantCulture));
        Assert.True(run.ExitCode == 0, run.ToString());
        string id = run.StdoutText.Trim();

        var logs = await Cli.RunAsync(Endpoint, "logs", id);
        var ps = await Cli.RunAsync(Endpoint, "ps", id);

        // What was kept is the pattern at the offsets the drop notices leave, and nothing else.
        Assert.True(logs.ExitCode == 0, logs.ToString());
        var lost = LostLine().Match(ps.StdoutText);
        Assert.True(lost.Success, ps.ToString());
        long lostBytes = long.Parse(lost.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.StartsWith("Exited code=0", ps.StdoutText, StringComparison.Ordinal);
        Assert.InRange(lostBytes, Size - (48L * 1024 * 1024), Size - 1);
        Assert.Equal(Size - lostBytes, logs.Stdout.Length);
        var ranges = MissingRange().Matches(logs.Stderr).Select(m => (From: long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), To: long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) + 1)).ToList();
        Assert.NotEmpty(ranges);
        Assert.Equal(lostBytes, ranges.Sum(r => r.To - r.From));
        Assert.Contains("output missing (disk full)", logs.Stderr, StringComparison.Ordinal);
        AssertPatternAround(logs.Stdout, ranges);

        // Removed, it frees the disk: the next job's output is all there.
        Assert.Equal(0, (await Cli.RunAsync(Endpoint, "rm", id)).ExitCode);
        var next = await Cli.RunAsync(Endpoint, "run", "--follow", "--", TestChildProgram.Path, "flood", "8M");
        Assert.True(next.ExitCode == 0, next.Stderr);
        var expected = new byte[8 * 1024 * 1024];
        Pattern.Fill(0, expected);
        Assert.True(expected.AsSpan().SequenceEqual(next.Stdout), $"the later job's output is not whole: {next.Stdout.Length} bytes, stderr '{next.Stderr}'");
        Assert.DoesNotContain("output missing", next.Stderr, StringComparison.Ordinal);
        Assert.False(_server.HasExited);
    }

    // The bytes kept are the flood pattern at their own offsets: offsets jump over each missing range.
    private static void AssertPatternAround(byte[] kept, List<(long From, long To)> missing)
    {
        long offset = 0;
        int at = 0;
        foreach (var (from, to) in missing.Append((From: Size, To: Size)))
        {
            int length = (int)(from - offset);
            var expected = new byte[length];
            Pattern.Fill(offset, expected);
            Assert.True(expected.AsSpan().SequenceEqual(kept.AsSpan(at, length)), $"the bytes kept from offset {offset} are not the pattern's");
            at += length;
            offset = to;
        }

        Assert.Equal(kept.Length, at);
    }

    [GeneratedRegex(@"output lost: (\d+) bytes, disk full")]
    private static partial Regex LostLine();

    [GeneratedRegex(@"stdout bytes (\d+)-(\d+) \(")]
    private static partial Regex MissingRange();
}
