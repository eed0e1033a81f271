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
/// <remarks>
/// A read that cannot be stored (the disk is full, no file handle is left, or the node's output
/// budget has no room) is never an error: its bytes keep their positions and stream offsets, are
/// counted as lost, and are held as a gap that readers are told of, so the job goes on running and
/// its output is still read. After a failed write the log tries the disk again with the first read
/// a second later (reads before that are not written), so a full disk costs a failing write a second,
/// and output is stored again once space returns.
/// </remarks>
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

    private static readonly TimeSpan DiskRetry = TimeSpan.FromSeconds(1);

    private readonly SpoolFile _file;
    private readonly long _cap;
    private readonly long _checkpointInterval;
    private readonly int _hotWindowBytes;
    private readonly List<Checkpoint> _checkpoints = [];

    // Runs of output never stored, oldest first; those before First go with the cap's drop.
    private readonly List<OutputGap> _gaps = [];
    private readonly OutputBudget.Account? _account;
    private bool _afterGap;
    private long _diskRetryTicks;

    // A reopened log's index until its frames are read again (on its first read).
    private OutputIndex? _unindexed;
    private readonly Queue<OutputRecord> _hot = new();
    private long _hotBytes;

    private readonly TimeProvider _time;

    // One frame header at a time: the log has one owner, and the file takes it before Append returns.
    private readonly byte[] _header = new byte[HeaderSize];

    public OutputLog(string directory, long cap, int hotWindowBytes, TimeProvider? time = null, OutputBudget? budget = null)
        : this(directory, cap, hotWindowBytes, time, null, budget)
    {
    }

    private OutputLog(string directory, long cap, int hotWindowBytes, TimeProvider? time, OutputIndex? index, OutputBudget? budget)
    {
        _time = time ?? TimeProvider.System;
        _account = budget?.Open(directory);
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
            _gaps.AddRange(index.Gaps ?? []);
            LostBytes = _gaps.Sum(g => g.Length);
            LostReason = _gaps.Count > 0 ? _gaps[^1].Reason : OutputDropReason.None;
        }
    }

    /// <summary>
    /// The sealed log of a finished job, opened again from the spool files it left and its
    /// <see cref="Index"/> (same directory, cap and settings). Its frames are indexed on the first read.
    /// </summary>
    public static OutputLog Reopen(string directory, long cap, int hotWindowBytes, OutputIndex index, TimeProvider? time = null, OutputBudget? budget = null) =>
        new(directory, cap, hotWindowBytes, time, index, budget);

    /// <summary>What <see cref="Reopen"/> needs to open this log again once it is sealed.</summary>
    public OutputIndex Index => _unindexed ?? new OutputIndex(
        _checkpoints.Count == 0 ? _file.Start : _checkpoints[0].FilePosition, First, _file.End, End, StdoutBytes, StderrBytes, _gaps.Count == 0 ? null : [.. _gaps]);

    public long End { get; private set; }

    public long StdoutBytes { get; private set; }

    public long StderrBytes { get; private set; }

    /// <summary>Bytes that could not be stored (disk full, the budget); the cap's drops are not counted.</summary>
    public long LostBytes { get; private set; }

    /// <summary>Why the latest bytes were lost.</summary>
    public OutputDropReason LostReason { get; private set; }

    /// <summary>The whole output was removed after the job ended, to make room in the node's budget.</summary>
    public bool Removed => _account?.Removed == true;

    /// <summary>The latest write error, when the disk refused output.</summary>
    public string? LastWriteError { get; private set; }

    /// <summary>The oldest output still held.</summary>
    public OutputMark First => _unindexed is { } index ? index.First : _checkpoints.Count == 0
        ? OutputMark.Zero
        : new OutputMark(_checkpoints[0].Position, _checkpoints[0].StdoutOffset, _checkpoints[0].StderrOffset);

    /// <summary>Bytes kept on disk now, frame headers included.</summary>
    public long SpooledBytes => _file.End - _file.Start;

    /// <summary>Output bytes still held, from <see cref="First"/> to <see cref="End"/>.</summary>
    public long HeldBytes => End - First.Position;

    /// <summary>
    /// Records one read of the job's output: stored, or (when the disk or the budget refuses it)
    /// counted as lost. Never throws for want of space.
    /// </summary>
    /// <returns>Why the bytes were not stored; <see cref="OutputDropReason.None"/> when they were.</returns>
    public OutputDropReason Append(ChildOutput output)
    {
        var stream = output.Stream == ChildStream.Stdout ? OutputStreamKind.Stdout : OutputStreamKind.Stderr;
        long ticks = _time.GetUtcNow().UtcTicks;
        var refused = Store(stream, output.Data, ticks);
        if (refused != OutputDropReason.None)
        {
            AddGap(stream, output.Data.Length, refused);
            return refused;
        }

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

        return OutputDropReason.None;
    }

    // Writes one frame, or says why not; a frame that is not written leaves the spool as it was.
    private OutputDropReason Store(OutputStreamKind stream, byte[] data, long ticks)
    {
        if (Removed)
        {
            return OutputDropReason.Budget;
        }

        if (ticks < _diskRetryTicks)
        {
            return OutputDropReason.DiskFull;
        }

        long size = HeaderSize + data.Length;
        if (_account is not null && !_account.TryReserve(size))
        {
            return OutputDropReason.Budget;
        }

        var header = _header.AsSpan();
        header[0] = (byte)stream;
        BinaryPrimitives.WriteInt32LittleEndian(header[1..], data.Length);
        BinaryPrimitives.WriteInt64LittleEndian(header[5..], ticks);
        long filePosition = _file.End;
        try
        {
            _file.Append(_header, data);
        }
        catch (IOException e)
        {
            _account?.Release(size);
            _diskRetryTicks = ticks + DiskRetry.Ticks;
            LastWriteError = e.Message;
            return OutputDropReason.DiskFull;
        }

        // A checkpoint starts every frame that follows a gap: a read never walks frames across one.
        if (_checkpoints.Count == 0 || _afterGap || filePosition - _checkpoints[^1].FilePosition >= _checkpointInterval)
        {
            _checkpoints.Add(new Checkpoint(filePosition, End, StdoutBytes, StderrBytes));
        }

        _afterGap = false;
        return OutputDropReason.None;
    }

    // Lost bytes keep their place: positions and stream offsets go on as if they were stored.
    private void AddGap(OutputStreamKind stream, int length, OutputDropReason reason)
    {
        var start = new OutputMark(End, StdoutBytes, StderrBytes);
        End += length;
        if (stream == OutputStreamKind.Stdout)
        {
            StdoutBytes += length;
        }
        else
        {
            StderrBytes += length;
        }

        var resume = new OutputMark(End, StdoutBytes, StderrBytes);
        if (_gaps.Count > 0 && _gaps[^1].Resume.Position == start.Position && _gaps[^1].Reason == reason)
        {
            _gaps[^1] = _gaps[^1] with { Resume = resume };
        }
        else
        {
            _gaps.Add(new OutputGap(start, resume, reason));
        }

        LostBytes += length;
        LostReason = reason;
        _afterGap = true;
    }

    /// <summary>
    /// Records from <paramref name="position"/> on (from <see cref="First"/> when that is later),
    /// about <paramref name="maxBytes"/> at most, at least one record when there is output.
    /// </summary>
    public OutputRecord[] Read(long position, int maxBytes) => Read(position, maxBytes, out _);

    /// <summary>
    /// As <see cref="Read(long, int)"/>, and says what was skipped when output from
    /// <paramref name="position"/> on is not held (dropped by the cap, never stored, removed): the
    /// records then begin at <paramref name="skipped"/>'s resume mark. Records stop before the next
    /// run of output not held, so a reader meets every gap at the start of a read.
    /// </summary>
    public OutputRecord[] Read(long position, int maxBytes, out OutputGap? skipped)
    {
        if (position < 0 || position > End)
        {
            throw new ArgumentOutOfRangeException(nameof(position), position, $"output positions run from 0 to {End}");
        }

        skipped = null;
        if (Removed)
        {
            Forget();
            skipped = position < End ? new OutputGap(OutputMark.Zero, EndMark, OutputDropReason.Budget) : null;
            return [];
        }

        try
        {
            IndexFrames();
        }
        catch (Exception e) when ((e is IOException or InvalidDataException) && Removed)
        {
            Forget();
            skipped = new OutputGap(OutputMark.Zero, EndMark, OutputDropReason.Budget);
            return [];
        }

        // Before the first output held: dropped by the cap, unless never stored (a gap from there on).
        if (position < First.Position && !_gaps.Exists(g => g.Start.Position <= position && g.Resume.Position > position))
        {
            skipped = new OutputGap(OutputMark.Zero, First, OutputDropReason.Cap);
            position = First.Position;
        }

        long limit = End;
        foreach (var gap in _gaps)
        {
            if (gap.Resume.Position <= position)
            {
                continue;
            }

            if (gap.Start.Position <= position)
            {
                skipped = skipped is null ? gap : gap with { Start = skipped.Start };
                position = gap.Resume.Position;
                continue;
            }

            limit = gap.Start.Position;
            break;
        }

        var merger = new Merger(maxBytes);
        try
        {
            if (_hot.Count > 0 && position >= _hot.Peek().Position)
            {
                foreach (var record in _hot)
                {
                    if (record.Position >= limit || merger.Full)
                    {
                        break;
                    }

                    if (record.EndPosition > position)
                    {
                        merger.Add(record.From(position));
                    }
                }
            }
            else if (position < limit)
            {
                ReadSpooled(position, limit, merger);
            }
        }
        catch (IOException) when (Removed)
        {
            // Removed by the budget while this read was under way.
            Forget();
            skipped = new OutputGap(OutputMark.Zero, EndMark, OutputDropReason.Budget);
            return [];
        }

        return merger.ToArray();
    }

    private OutputMark EndMark => new(End, StdoutBytes, StderrBytes);

    // Removed by the budget: the index of files that are gone is no use.
    private void Forget()
    {
        _unindexed = null;
        _checkpoints.Clear();
        _checkpoints.TrimExcess();
        _gaps.Clear();
        _gaps.TrimExcess();
        _hot.Clear();
        _hotBytes = 0;
    }

    /// <summary>
    /// A position at or before the first byte of <paramref name="stream"/> at <paramref name="offset"/>
    /// or later; 0 when that byte was dropped, so that a read from it learns where output resumes.
    /// </summary>
    public long FindPosition(OutputStreamKind stream, long offset)
    {
        try
        {
            if (!Removed)
            {
                IndexFrames();
            }
        }
        catch (Exception e) when ((e is IOException or InvalidDataException) && Removed)
        {
            // Removed by the budget meanwhile: a read from the start says so.
        }

        if (Removed)
        {
            return 0;
        }

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
        _gaps.TrimExcess();
        _file.Close();
        _account?.Finish();
    }

    public void Dispose()
    {
        _file.Dispose();
        _account?.Close();
    }

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
        int nextGap = 0;
        bool afterGap = false;
        while (filePosition < index.FileEnd)
        {
            // The gaps where Append met them: between frames, each followed by a checkpoint.
            while (nextGap < _gaps.Count && _gaps[nextGap].Start.Position <= at)
            {
                at = _gaps[nextGap].Resume.Position;
                stdout = _gaps[nextGap].Resume.StdoutOffset;
                stderr = _gaps[nextGap].Resume.StderrOffset;
                afterGap = true;
                nextGap++;
            }

            if (_checkpoints.Count == 0 || afterGap || filePosition - _checkpoints[^1].FilePosition >= _checkpointInterval)
            {
                _checkpoints.Add(new Checkpoint(filePosition, at, stdout, stderr));
            }

            afterGap = false;

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

        if (nextGap < _gaps.Count)
        {
            at = _gaps[^1].Resume.Position;
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

        long before = SpooledBytes;
        _file.DropBefore(_checkpoints[keep].FilePosition);
        long droppedBytes = before - SpooledBytes;
        int firstHeld = _checkpoints.FindIndex(c => c.FilePosition >= _file.Start);
        _checkpoints.RemoveRange(0, firstHeld);
        _gaps.RemoveAll(g => g.Resume.Position <= _checkpoints[0].Position);
        _account?.Release(droppedBytes);
    }

    private void ReadSpooled(long position, long limit, Merger merger)
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
            while (at < limit && !merger.Full)
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
