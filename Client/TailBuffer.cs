using Google.Protobuf;
using Jobs.Protos;

namespace Jobs.Client;

/// <summary>
/// The last N lines of a job's output, across both streams in the order they were read: lines end
/// at '\n' within their own stream; an unfinished last line counts as a line. Memory holds at
/// most those N lines.
/// </summary>
internal sealed class TailBuffer(int lines)
{
    private readonly Queue<OutputChunk> _lines = new();
    private readonly Dictionary<OutputStream, (long Offset, Google.Protobuf.WellKnownTypes.Timestamp? Time, MemoryStream Bytes)> _open = [];

    /// <summary>Where each stream's output seen so far ends (for resuming after the tail).</summary>
    public Dictionary<OutputStream, long> Ends { get; } = [];

    public void Add(OutputChunk chunk)
    {
        var data = chunk.Data.Span;
        long offset = chunk.Offset;
        Ends[chunk.Stream] = chunk.Offset + data.Length;
        while (data.Length > 0)
        {
            if (!_open.TryGetValue(chunk.Stream, out var open))
            {
                open = (offset, chunk.Time, new MemoryStream());
                _open[chunk.Stream] = open;
            }

            int newline = data.IndexOf((byte)'\n');
            int take = newline < 0 ? data.Length : newline + 1;
            open.Bytes.Write(data[..take]);
            data = data[take..];
            offset += take;
            if (newline >= 0)
            {
                Push(chunk.Stream);
            }
        }
    }

    /// <summary>The kept lines, oldest first, each as a chunk with its stream and offset.</summary>
    public IReadOnlyList<OutputChunk> Finish()
    {
        foreach (var stream in _open.Keys.ToList())
        {
            Push(stream);
        }

        return [.. _lines];
    }

    private void Push(OutputStream stream)
    {
        var (offset, time, bytes) = _open[stream];
        _open.Remove(stream);
        _lines.Enqueue(new OutputChunk { Stream = stream, Offset = offset, Data = ByteString.CopyFrom(bytes.ToArray()), Time = time });
        while (_lines.Count > lines)
        {
            _lines.Dequeue();
        }
    }
}
