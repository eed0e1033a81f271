using System.Buffers;
using System.Buffers.Binary;
using Jobs.Platform;
using Jobs.Platform.Storage;

namespace Jobs.Grains;

/// <summary>
/// A job's output in the order it was read, stdout and stderr interleaved, addressed by position
/// in the whole output. Every read is appended to a spool file as a frame (stream, length, time, bytes);
/// memory holds only the newest records (the hot window) and a sparse index of frame boundaries,
/// so a job's memory does not grow with its output. Beyond the cap the oldest segments are dropped.
/// </summary>
internal sealed class OutputLog : IDisposable
{
    private const int HeaderSize = 13;

    // Reads merged into one record were made within this much time of its first: the record's time stands for them all.
    private static readonly long MergeTicks = TimeSpan.FromMilliseconds(10).Ticks;

    // Adjacent small records of one stream are merged on read up to this size, so a job that writes
    // line by line does not cost a message per line. Kept below the large object heap's 85,000
    // bytes: larger merged arrays made a full (gen 2) collection every few megabytes.
    private const int MergeLimit = 64 * 1024;
    private const int ReadBlock = 256 * 1024;

    private readonly SpoolFile _file;
    private readonly long _cap;
    private readonly long _checkpointInterval;
    private readonly int _hotWindowBytes;
    private readonly List<Checkpoint> _checkpoints = [];

    // A reopened log's index until its frames are read again (on its first read).
    private OutputIndex? _unindexed;
    private readonly Queue<OutputRecord> _hot = new();
    private long _hotBytes;

    private readonly TimeProvider _time;

    // One frame header at a time: the log has one owner, and the file takes it before Append returns.
    private readonly byte[] _header = new byte[HeaderSize];

    public OutputLog(string directory, long cap, int hotWindowBytes, TimeProvider? time = null)
        : this(directory, cap, hotWindowBytes, time, null)
    {
    }

    private OutputLog(string directory, long cap, int hotWindowBytes, TimeProvider? time, OutputIndex? index)
    {
        _time = time ?? TimeProvider.System;
        ArgumentOutOfRangeException.ThrowIfLessThan(cap, 4096);
        long segment = Math.Clamp(cap / 8, 1024, 64L * 1024 * 1024);
        _checkpointInterval = Math.Clamp(segment / 4, 256, 64 * 1024);
        _file = index is null ? new SpoolFile(directory, segment) : SpoolFile.Open(directory, segment, index.FilePosition, index.FileEnd);
        _cap = cap;
        _hotWindowBytes = (int)Math.Min(hotWindowBytes, cap / 4);
        if (index is not null)
        {
            _unindexed = index;
            End = index.End;
            StdoutBytes = index.StdoutBytes;
            StderrBytes = index.StderrBytes;
        }
    }

    /// <summary>
    /// The sealed log of a finished job, opened again from the spool files it left and its
    /// <see cref="Index"/> (same directory, cap and settings). Its frames are indexed on the first read.
    /// </summary>
    public static OutputLog Reopen(string directory, long cap, int hotWindowBytes, OutputIndex index, TimeProvider? time = null) =>
        new(directory, cap, hotWindowBytes, time, index);

    /// <summary>What <see cref="Reopen"/> needs to open this log again once it is sealed.</summary>
    public OutputIndex Index => _unindexed ?? new OutputIndex(
        _checkpoints.Count == 0 ? _file.Start : _checkpoints[0].FilePosition, First, _file.End, End, StdoutBytes, StderrBytes);

    public long End { get; private set; }

    public long StdoutBytes { get; private set; }

    public long StderrBytes { get; private set; }

    /// <summary>The oldest output still held.</summary>
    public OutputMark First => _unindexed is { } index ? index.First : _checkpoints.Count == 0
        ? OutputMark.Zero
        : new OutputMark(_checkpoints[0].Position, _checkpoints[0].StdoutOffset, _checkpoints[0].StderrOffset);

    /// <summary>Bytes kept on disk now, frame headers included.</summary>
    public long SpooledBytes => _file.End - _file.Start;

    /// <summary>Output bytes still held, from <see cref="First"/> to <see cref="End"/>.</summary>
    public long HeldBytes => End - First.Position;

    public void Append(ChildOutput output)
    {
        var stream = output.Stream == ChildStream.Stdout ? OutputStreamKind.Stdout : OutputStreamKind.Stderr;
        if (_checkpoints.Count == 0 || _file.End - _checkpoints[^1].FilePosition >= _checkpointInterval)
        {
            _checkpoints.Add(new Checkpoint(_file.End, End, StdoutBytes, StderrBytes));
        }

        long ticks = _time.GetUtcNow().UtcTicks;
        var header = _header.AsSpan();
        header[0] = (byte)stream;
        BinaryPrimitives.WriteInt32LittleEndian(header[1..], output.Data.Length);
        BinaryPrimitives.WriteInt64LittleEndian(header[5..], ticks);
        _file.Append(_header, output.Data);

        var record = new OutputRecord(stream, stream == OutputStreamKind.Stdout ? StdoutBytes : StderrBytes, End, output.Data, ticks);
        End += output.Data.Length;
        if (stream == OutputStreamKind.Stdout)
        {
            StdoutBytes += output.Data.Length;
        }
        else
        {
            StderrBytes += output.Data.Length;
        }

        _hot.Enqueue(record);
        _hotBytes += record.Data.Length;
        while (_hot.Count > 1 && _hotBytes - _hot.Peek().Data.Length >= _hotWindowBytes)
        {
            _hotBytes -= _hot.Dequeue().Data.Length;
        }

        if (End - _checkpoints[0].Position > _cap)
        {
            DropOldest();
        }
    }

    /// <summary>
    /// Records from <paramref name="position"/> on (from <see cref="First"/> when that is later),
    /// about <paramref name="maxBytes"/> at most, at least one record when there is output.
    /// </summary>
    public OutputRecord[] Read(long position, int maxBytes)
    {
        if (position < 0 || position > End)
        {
            throw new ArgumentOutOfRangeException(nameof(position), position, $"output positions run from 0 to {End}");
        }

        IndexFrames();
        position = Math.Max(position, First.Position);
        var merger = new Merger(maxBytes);
        if (_hot.Count > 0 && position >= _hot.Peek().Position)
        {
            foreach (var record in _hot)
            {
                if (record.EndPosition > position && !merger.Full)
                {
                    merger.Add(record.From(position));
                }
            }
        }
        else if (position < End)
        {
            ReadSpooled(position, merger);
        }

        return merger.ToArray();
    }

    /// <summary>
    /// A position at or before the first byte of <paramref name="stream"/> at <paramref name="offset"/>
    /// or later; 0 when that byte was dropped, so that a read from it learns where output resumes.
    /// </summary>
    public long FindPosition(OutputStreamKind stream, long offset)
    {
        IndexFrames();
        var first = First;
        if (offset < (stream == OutputStreamKind.Stdout ? first.StdoutOffset : first.StderrOffset))
        {
            return 0;
        }

        long found = first.Position;
        foreach (var checkpoint in _checkpoints)
        {
            long at = stream == OutputStreamKind.Stdout ? checkpoint.StdoutOffset : checkpoint.StderrOffset;
            if (at > offset)
            {
                break;
            }

            found = checkpoint.Position;
        }

        return found;
    }

    /// <summary>
    /// No more output comes (the job ended): the hot window goes and the spool's files are closed, so
    /// that a finished job holds its index alone. Reads go on, from the spool.
    /// </summary>
    public void Seal()
    {
        _hot.Clear();
        _hot.TrimExcess();
        _hotBytes = 0;
        _checkpoints.TrimExcess();
        _file.Close();
    }

    public void Dispose() => _file.Dispose();

    // A reopened log learns its frame boundaries again from the frame headers, placing checkpoints
    // by the rule Append placed them: the same index as before the log was sealed.
    private void IndexFrames()
    {
        if (_unindexed is not { } index)
        {
            return;
        }

        _unindexed = null;
        long filePosition = index.FilePosition;
        long at = index.First.Position;
        long stdout = index.First.StdoutOffset;
        long stderr = index.First.StderrOffset;
        Span<byte> header = stackalloc byte[HeaderSize];
        while (filePosition < index.FileEnd)
        {
            if (_checkpoints.Count == 0 || filePosition - _checkpoints[^1].FilePosition >= _checkpointInterval)
            {
                _checkpoints.Add(new Checkpoint(filePosition, at, stdout, stderr));
            }

            if (_file.Read(filePosition, header) < HeaderSize)
            {
                throw new InvalidDataException($"the spool ends inside a frame header at {filePosition}, before its recorded end {index.FileEnd}");
            }

            int length = BinaryPrimitives.ReadInt32LittleEndian(header[1..]);
            if ((OutputStreamKind)header[0] == OutputStreamKind.Stdout)
            {
                stdout += length;
            }
            else
            {
                stderr += length;
            }

            at += length;
            filePosition += HeaderSize + length;
        }

        if (at != index.End)
        {
            throw new InvalidDataException($"the spool's frames hold {at} bytes of output, not the {index.End} recorded");
        }
    }

    // Keeps at least the newest cap bytes of output: drops up to the last frame boundary that leaves
    // that much, whole segments only, so what is held stays between cap and cap plus a segment.
    private void DropOldest()
    {
        int keep = LastCheckpointAtOrBefore(End - _cap);
        if (keep <= 0)
        {
            return;
        }

        _file.DropBefore(_checkpoints[keep].FilePosition);
        int firstHeld = _checkpoints.FindIndex(c => c.FilePosition >= _file.Start);
        _checkpoints.RemoveRange(0, firstHeld);
    }

    private void ReadSpooled(long position, Merger merger)
    {
        var checkpoint = _checkpoints[LastCheckpointAtOrBefore(position)];
        long filePosition = checkpoint.FilePosition;
        long at = checkpoint.Position;
        long stdout = checkpoint.StdoutOffset;
        long stderr = checkpoint.StderrOffset;

        byte[] block = ArrayPool<byte>.Shared.Rent(ReadBlock);
        long blockStart = 0;
        int blockLength = 0;
        try
        {
            while (at < End && !merger.Full)
            {
                if (filePosition + HeaderSize > blockStart + blockLength)
                {
                    blockStart = filePosition;
                    blockLength = _file.Read(blockStart, block);
                }

                var header = block.AsSpan((int)(filePosition - blockStart), HeaderSize);
                var stream = (OutputStreamKind)header[0];
                int length = BinaryPrimitives.ReadInt32LittleEndian(header[1..]);
                long ticks = BinaryPrimitives.ReadInt64LittleEndian(header[5..]);
                long dataStart = filePosition + HeaderSize;
                ref long streamOffset = ref stream == OutputStreamKind.Stdout ? ref stdout : ref stderr;
                if (at + length > position)
                {
                    int skip = (int)Math.Max(0, position - at);
                    var data = new byte[length - skip];
                    long from = dataStart + skip;
                    if (from >= blockStart && from + data.Length <= blockStart + blockLength)
                    {
                        block.AsSpan((int)(from - blockStart), data.Length).CopyTo(data);
                    }
                    else
                    {
                        _file.Read(from, data);
                    }

                    merger.Add(new OutputRecord(stream, streamOffset + skip, at + skip, data, ticks));
                }

                at += length;
                streamOffset += length;
                filePosition = dataStart + length;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(block);
        }
    }

    // Checkpoint positions ascend: the index of the last one at or before the position, or -1.
    private int LastCheckpointAtOrBefore(long position)
    {
        int low = 0;
        int high = _checkpoints.Count - 1;
        int found = -1;
        while (low <= high)
        {
            int mid = (low + high) / 2;
            if (_checkpoints[mid].Position <= position)
            {
                found = mid;
                low = mid + 1;
            }
            else
            {
                high = mid - 1;
            }
        }

        return found;
    }

    private readonly record struct Checkpoint(long FilePosition, long Position, long StdoutOffset, long StderrOffset);

    /// <summary>Collects records up to a byte budget, merging adjacent small ones of the same stream.</summary>
    private sealed class Merger(int maxBytes)
    {
        private readonly List<OutputRecord> _result = [];
        private readonly List<OutputRecord> _pending = [];
        private long _pendingLength;
        private long _taken;

        public bool Full => _taken >= maxBytes;

        public void Add(OutputRecord record)
        {
            if (_pending.Count > 0 && (_pending[0].Stream != record.Stream || _pendingLength + record.Data.Length > MergeLimit || record.Ticks - _pending[0].Ticks > MergeTicks))
            {
                Flush();
            }

            _pending.Add(record);
            _pendingLength += record.Data.Length;
            _taken += record.Data.Length;
        }

        public OutputRecord[] ToArray()
        {
            Flush();
            return [.. _result];
        }

        private void Flush()
        {
            if (_pending.Count == 0)
            {
                return;
            }

            if (_pending.Count == 1)
            {
                _result.Add(_pending[0]);
            }
            else
            {
                var data = new byte[_pendingLength];
                int at = 0;
                foreach (var record in _pending)
                {
                    record.Data.CopyTo(data, at);
                    at += record.Data.Length;
                }

                _result.Add(new OutputRecord(_pending[0].Stream, _pending[0].Offset, _pending[0].Position, data, _pending[0].Ticks));
            }

            _pending.Clear();
            _pendingLength = 0;
        }
    }
}
