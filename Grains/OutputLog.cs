using Jobs.Platform;

namespace Jobs.Grains;

/// <summary>
/// A job's output in the order it was read, stdout and stderr interleaved, addressed by position in
/// the whole output. Records are immutable once appended, so reads hand them out without copying.
/// </summary>
internal sealed class OutputLog
{
    // Adjacent small records of one stream are merged on read up to this size, so a job that writes
    // line by line does not cost a message per line; larger records are handed out as they are.
    private const int MergeLimit = 64 * 1024;

    private readonly List<OutputRecord> _records = [];

    public long End { get; private set; }

    public long StdoutBytes { get; private set; }

    public long StderrBytes { get; private set; }

    public void Append(ChildOutput output)
    {
        var stream = output.Stream == ChildStream.Stdout ? OutputStreamKind.Stdout : OutputStreamKind.Stderr;
        long offset = stream == OutputStreamKind.Stdout ? StdoutBytes : StderrBytes;
        _records.Add(new OutputRecord(stream, offset, End, output.Data));
        End += output.Data.Length;
        if (stream == OutputStreamKind.Stdout)
        {
            StdoutBytes += output.Data.Length;
        }
        else
        {
            StderrBytes += output.Data.Length;
        }
    }

    /// <summary>Records from <paramref name="position"/> on, about <paramref name="maxBytes"/> at most (at least one record).</summary>
    public OutputRecord[] Read(long position, int maxBytes)
    {
        if (position < 0 || position > End)
        {
            throw new ArgumentOutOfRangeException(nameof(position), position, $"output positions run from 0 to {End}");
        }

        var result = new List<OutputRecord>();
        int index = IndexOf(position);
        long taken = 0;
        var pending = new List<OutputRecord>();
        long pendingLength = 0;
        while (index < _records.Count && (taken < maxBytes || result.Count + pending.Count == 0))
        {
            var record = _records[index].From(position);
            if (pending.Count > 0 && (pending[0].Stream != record.Stream || pendingLength + record.Data.Length > MergeLimit))
            {
                result.Add(Merge(pending, pendingLength));
                pending.Clear();
                pendingLength = 0;
            }

            pending.Add(record);
            pendingLength += record.Data.Length;
            taken += record.Data.Length;
            position = record.EndPosition;
            index++;
        }

        if (pending.Count > 0)
        {
            result.Add(Merge(pending, pendingLength));
        }

        return [.. result];
    }

    // The record that holds the position, by binary search on record start positions.
    private int IndexOf(long position)
    {
        int low = 0;
        int high = _records.Count - 1;
        while (low <= high)
        {
            int mid = (low + high) / 2;
            var record = _records[mid];
            if (position < record.Position)
            {
                high = mid - 1;
            }
            else if (position >= record.EndPosition)
            {
                low = mid + 1;
            }
            else
            {
                return mid;
            }
        }

        return low;
    }

    private static OutputRecord Merge(List<OutputRecord> pending, long length)
    {
        if (pending.Count == 1)
        {
            return pending[0];
        }

        var data = new byte[length];
        int at = 0;
        foreach (var record in pending)
        {
            record.Data.CopyTo(data, at);
            at += record.Data.Length;
        }

        return new OutputRecord(pending[0].Stream, pending[0].Offset, pending[0].Position, data);
    }
}
