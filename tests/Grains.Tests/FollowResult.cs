using Jobs.Gateway.Services;

namespace Jobs.Grains.Tests;

/// <summary>Everything one follower received, checked for gaps and duplicates as it arrived.</summary>
public sealed class FollowResult
{
    private readonly MemoryStream _stdout = new();
    private readonly MemoryStream _stderr = new();
    private long _position;

    public byte[] Stdout => _stdout.ToArray();

    public byte[] Stderr => _stderr.ToArray();

    public JobStatus? End { get; private set; }

    public static async Task<FollowResult> CollectAsync(JobOutputFollower follower, string jobId, CancellationToken cancellationToken)
    {
        var result = new FollowResult();
        await foreach (var item in follower.FollowAsync(jobId, 0, cancellationToken))
        {
            result.Add(item);
        }

        return result;
    }

    private void Add(FollowItem item)
    {
        Assert.Null(End);
        if (item.End is { } end)
        {
            End = end;
            return;
        }

        var record = item.Output!;
        Assert.Equal(_position, record.Position);
        var target = record.Stream == OutputStreamKind.Stdout ? _stdout : _stderr;
        Assert.Equal(target.Length, record.Offset);
        target.Write(record.Data);
        _position = record.EndPosition;
    }
}
