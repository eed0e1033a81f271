using Jobs.Gateway.Services;
using Jobs.TestChild;

namespace Jobs.Grains.Tests;

/// <summary>
/// What a follower of a <c>flood</c> job got, checked as it came: every byte it was given is the
/// pattern's at its offset, in order, and every jump in offsets was announced by a drop notice
/// that names exactly the run skipped.
/// </summary>
internal sealed class FollowedOutput
{
    public long StoredBytes { get; private set; }

    public List<OutputGap> Gaps { get; } = [];

    /// <summary>Bytes skipped at drop notices: from the offset reached to where output resumed.</summary>
    public long SkippedBytes { get; private set; }

    public JobStatus? End { get; private set; }

    public static async Task<FollowedOutput> FollowAsync(JobOutputFollower follower, string jobId, CancellationToken cancellationToken)
    {
        var result = new FollowedOutput();
        long next = 0;
        await foreach (var item in follower.FollowAsync(jobId, 0, cancellationToken))
        {
            if (item.Output is { } record)
            {
                Assert.Equal(OutputStreamKind.Stdout, record.Stream);
                Assert.Equal(next, record.Offset);
                var expected = new byte[record.Data.Length];
                Pattern.Fill(record.Offset, expected);
                Assert.True(expected.AsSpan().SequenceEqual(record.Data), $"the bytes at offset {record.Offset} are not the pattern's");
                result.StoredBytes += record.Data.Length;
                next += record.Data.Length;
            }
            else if (item.Dropped is { } resume)
            {
                var gap = Assert.IsType<OutputGap>(item.Gap);
                Assert.Equal(resume, gap.Resume);
                Assert.True(gap.Start.StdoutOffset <= next, $"a drop from {gap.Start.StdoutOffset} announced after {next} bytes");
                result.Gaps.Add(gap);

                // A run still growing when it was first met is met again from where that left off.
                result.SkippedBytes += Math.Max(0, resume.StdoutOffset - next);
                next = Math.Max(next, resume.StdoutOffset);
            }
            else
            {
                result.End = item.End;
            }
        }

        return result;
    }
}
