using Microsoft.Win32.SafeHandles;

namespace Jobs.Platform.Storage;

/// <summary>
/// An append-only run of bytes kept on disk in segment files of a fixed size, in a directory of its
/// own. The oldest segments can be dropped whole, so a capped log never rewrites what it keeps.
/// Not thread-safe: one owner appends and reads.
/// </summary>
public sealed class SpoolFile : IDisposable
{
    private readonly string _directory;
    private readonly long _segmentSize;
    private readonly List<Segment?> _segments = [];
    private long _firstSegment;
    private readonly ReadOnlyMemory<byte>[] _gather = new ReadOnlyMemory<byte>[2];

    /// <summary>Creates the spool; the directory is created on the first append.</summary>
    /// <param name="directory">A directory for this spool alone (made 0700 on Unix, its files 0600); deleted with it.</param>
    /// <param name="segmentSize">Bytes per segment file: the granularity of <see cref="DropBefore"/>.</param>
    public SpoolFile(string directory, long segmentSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(segmentSize, 1);
        _directory = directory;
        _segmentSize = segmentSize;
    }

    /// <summary>
    /// Adopts the segment files a closed spool left in <paramref name="directory"/>, holding the bytes
    /// from <paramref name="start"/> (in its first segment) to <paramref name="end"/>: closed, for reads.
    /// </summary>
    public static SpoolFile Open(string directory, long segmentSize, long start, long end)
    {
        var spool = new SpoolFile(directory, segmentSize);
        if (end > 0)
        {
            spool._firstSegment = start / segmentSize;
            for (long segment = spool._firstSegment; segment <= (end - 1) / segmentSize; segment++)
            {
                spool._segments.Add(null);
            }

            spool.End = end;
        }

        spool.Closed = true;
        return spool;
    }

    /// <summary>The first byte still held.</summary>
    public long Start => _firstSegment * _segmentSize;

    /// <summary>The offset the next append goes to.</summary>
    public long End { get; private set; }

    /// <summary>
    /// Appends bytes at <see cref="End"/>: all of them, or none when the write fails (a full disk,
    /// no file handle left). What a failed append had written is cut off again, so the spool is as
    /// it was and a later append can go on at the same <see cref="End"/>.
    /// </summary>
    /// <exception cref="IOException">The bytes could not be written; nothing was appended.</exception>
    public void Append(ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(Disposed, this);
        ThrowIfClosed();
        var undo = new Undo(this);
        try
        {
            AppendSpan(data);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            undo.Apply();
            throw e as IOException ?? new IOException(e.Message, e);
        }
    }

    /// <summary>
    /// Appends <paramref name="header"/> then <paramref name="data"/> at <see cref="End"/>: one
    /// write when both fit in the current segment; both or neither, as <see cref="Append(ReadOnlySpan{byte})"/>.
    /// </summary>
    /// <exception cref="IOException">The bytes could not be written; nothing was appended.</exception>
    public void Append(ReadOnlyMemory<byte> header, ReadOnlyMemory<byte> data)
    {
        ObjectDisposedException.ThrowIf(Disposed, this);
        ThrowIfClosed();
        var undo = new Undo(this);
        try
        {
            long inSegment = End % _segmentSize;
            long length = header.Length + data.Length;
            if (inSegment == 0 || inSegment + length > _segmentSize)
            {
                AppendSpan(header.Span);
                AppendSpan(data.Span);
                return;
            }

            _gather[0] = header;
            _gather[1] = data;
            RandomAccess.Write(_segments[^1]!.Value.Handle, _gather, inSegment);
            End += length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            undo.Apply();
            throw e as IOException ?? new IOException(e.Message, e);
        }
        finally
        {
            _gather[0] = default;
            _gather[1] = default;
        }
    }

    private void AppendSpan(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            long inSegment = End % _segmentSize;
            if (inSegment == 0 && End / _segmentSize >= _firstSegment + _segments.Count)
            {
                OpenSegment(End / _segmentSize);
            }

            int count = (int)Math.Min(data.Length, _segmentSize - inSegment);
            RandomAccess.Write(_segments[^1]!.Value.Handle, data[..count], inSegment);
            End += count;
            data = data[count..];
        }
    }

    /// <summary>Reads bytes from <paramref name="offset"/> (at least <see cref="Start"/>); returns how many (0 at the end).</summary>
    public int Read(long offset, Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(Disposed, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(offset, Start);
        int total = 0;
        while (!buffer.IsEmpty && offset < End)
        {
            long segment = offset / _segmentSize;
            long inSegment = offset % _segmentSize;
            int count = (int)Math.Min(Math.Min(buffer.Length, _segmentSize - inSegment), End - offset);
            int read = ReadSegment((int)(segment - _firstSegment), buffer[..count], inSegment);
            if (read <= 0)
            {
                break;
            }

            total += read;
            offset += read;
            buffer = buffer[read..];
        }

        return total;
    }

    /// <summary>
    /// Closes the segment files, keeping them: nothing more is appended, and each read opens the file
    /// it needs for that read alone, so a spool that is only kept costs no open file.
    /// </summary>
    public void Close()
    {
        for (int i = 0; i < _segments.Count; i++)
        {
            _segments[i]?.Dispose();
            _segments[i] = null;
        }

        Closed = true;
    }

    /// <summary>True once <see cref="Close"/> was called: reads still work, appends do not.</summary>
    public bool Closed { get; private set; }

    /// <summary>Deletes every segment that lies wholly before <paramref name="offset"/>.</summary>
    public void DropBefore(long offset)
    {
        while (_segments.Count > 1 && (_firstSegment + 1) * _segmentSize <= offset)
        {
            _segments[0]?.Dispose();
            File.Delete(SegmentPath(_firstSegment));
            _segments.RemoveAt(0);
            _firstSegment++;
        }
    }

    /// <summary>True once disposed.</summary>
    public bool Disposed { get; private set; }

    /// <summary>Closes and deletes every segment and the directory.</summary>
    public void Dispose()
    {
        if (Disposed)
        {
            return;
        }

        Disposed = true;
        foreach (var segment in _segments)
        {
            segment?.Dispose();
        }

        _segments.Clear();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Never made (nothing was appended), or deleted already (the node's output budget).
        }
    }

    private void ThrowIfClosed()
    {
        if (Closed)
        {
            throw new InvalidOperationException("the spool is closed: nothing more can be appended");
        }
    }

    private int ReadSegment(int index, Span<byte> buffer, long offset)
    {
        if (_segments[index] is { } open)
        {
            return RandomAccess.Read(open.Handle, buffer, offset);
        }

        using var handle = File.OpenHandle(SegmentPath(_firstSegment + index), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        return RandomAccess.Read(handle, buffer, offset);
    }

    private void OpenSegment(long index)
    {
        if (_segments.Count == 0)
        {
            DataDirectory.CreateFolder(_directory);
            _firstSegment = index;
        }

        // Output is the job's business: 0600 whatever the umask (which can only take bits away).
        // File.OpenHandle takes no mode, a FileStream does; unbuffered, as only its handle is used.
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.Read | FileShare.Delete, BufferSize = 0 };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        var stream = new FileStream(SegmentPath(index), options);
        _segments.Add(new Segment(stream, stream.SafeFileHandle));
        DropBehind();
    }

    /// <summary>Segments at least this large are written back and dropped from the page cache behind the writer.</summary>
    public const long DropBehindSegmentSize = 1024 * 1024;

    // A full segment goes to disk as soon as the next one starts, and the page cache drops every
    // segment older than the one before the newest: a job's output costs the node at most two
    // segments of cache however much it writes, and followers near the end still read from memory.
    // Written into fresh page cache, the spool cost 2.2-2.8 s of CPU per GiB on this kind of machine
    // (a VM pays for each page it touches first); with the drop behind, 0.45-0.5 s (docs/design.md).
    // Pages still being written back stay; the next segment's start tries them again. Linux only.
    private void DropBehind()
    {
        if (!OperatingSystem.IsLinux() || _segmentSize < DropBehindSegmentSize || _segments.Count < 2)
        {
            return;
        }

        if (_segments[^2] is { } previous)
        {
            _ = Unix.LibC.sync_file_range((int)previous.Handle.DangerousGetHandle(), 0, 0, Unix.LibC.SYNC_FILE_RANGE_WRITE);
        }

        for (int i = 0; i < _segments.Count - 2; i++)
        {
            if (_segments[i] is { } older)
            {
                _ = Unix.LibC.posix_fadvise((int)older.Handle.DangerousGetHandle(), 0, 0, Unix.LibC.POSIX_FADV_DONTNEED);
            }
        }
    }

    // What an append found, to put back when it fails: segments it opened are deleted, and the
    // segment it wrote into is cut to its length before the append (a short write leaves bytes
    // past End that would hold disk space for nothing).
    private readonly struct Undo(SpoolFile spool)
    {
        private readonly long _end = spool.End;
        private readonly int _segments = spool._segments.Count;

        public void Apply()
        {
            while (spool._segments.Count > _segments)
            {
                long index = spool._firstSegment + spool._segments.Count - 1;
                spool._segments[^1]?.Dispose();
                spool._segments.RemoveAt(spool._segments.Count - 1);
                TryDelete(spool.SegmentPath(index));
            }

            spool.End = _end;
            long inSegment = _end % spool._segmentSize;
            if (spool._segments.Count > 0 && inSegment > 0 && spool._segments[^1] is { } last)
            {
                try
                {
                    RandomAccess.SetLength(last.Handle, inSegment);
                }
                catch (IOException)
                {
                    // Bytes past End are never read; the next append writes over them.
                }
            }
        }

        private static void TryDelete(string path)
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // An empty segment file left behind goes with the spool's folder.
            }
        }
    }

    // The handle is taken once: FileStream.SafeFileHandle seeks the file to the stream's position on
    // every call. The stream is kept and disposed with it: its finalizer would close the handle.
    private readonly record struct Segment(FileStream Stream, SafeFileHandle Handle) : IDisposable
    {
        public void Dispose() => Stream.Dispose();
    }

    private string SegmentPath(long index) => Path.Combine(_directory, $"{index:D10}.seg");
}
