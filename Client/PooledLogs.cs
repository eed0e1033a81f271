using System.Buffers;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Jobs.Protos;

/// <summary>
/// One <c>LogsResponse</c> whose chunk data, if any, sits in a buffer rented from the shared pool
/// rather than in an array of its own: return it with <see cref="Dispose"/> once the data is
/// written, and keep nothing of <see cref="Response"/> past that.
/// </summary>
internal sealed class PooledLogsResponse(LogsResponse response, byte[]? rented) : IDisposable
{
    private byte[]? _rented = rented;

    public LogsResponse Response { get; } = response;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _rented, null) is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>
/// <c>Logs</c> read with chunk data copied once, from the received gRPC message into a pooled buffer.
/// Google.Protobuf gives every <c>bytes</c> field a new array (zeroed by the GC, then copied into,
/// then collected): for a CLI that only writes the bytes on, that was most of its memory traffic.
/// The message's small fields are read with Google.Protobuf's own <see cref="CodedInputStream"/>; a
/// message of any other shape (the end, a drop, a field this client does not know) goes to the
/// generated parser whole.
/// </summary>
internal static class PooledLogs
{
    private static readonly uint ChunkTag = WireFormat.MakeTag(LogsResponse.ChunkFieldNumber, WireFormat.WireType.LengthDelimited);
    private static readonly uint StreamTag = WireFormat.MakeTag(OutputChunk.StreamFieldNumber, WireFormat.WireType.Varint);
    private static readonly uint OffsetTag = WireFormat.MakeTag(OutputChunk.OffsetFieldNumber, WireFormat.WireType.Varint);
    private static readonly uint DataTag = WireFormat.MakeTag(OutputChunk.DataFieldNumber, WireFormat.WireType.LengthDelimited);
    private static readonly uint TimeTag = WireFormat.MakeTag(OutputChunk.TimeFieldNumber, WireFormat.WireType.LengthDelimited);

    public static readonly Method<LogsRequest, PooledLogsResponse> Method = new(
        MethodType.ServerStreaming,
        Jobs.Descriptor.FullName,
        "Logs",
        Marshallers.Create(static (LogsRequest request) => request.ToByteArray(), LogsRequest.Parser.ParseFrom),
        Marshallers.Create<PooledLogsResponse>(
            static (_, _) => throw new NotSupportedException("the CLI never sends a LogsResponse"),
            static context => Parse(context.PayloadAsReadOnlySequence())));

    /// <summary>The message in <paramref name="payload"/>, a chunk's data in a rented buffer.</summary>
    public static PooledLogsResponse Parse(ReadOnlySequence<byte> payload)
    {
        byte[]? copy = null;
        ArraySegment<byte> message;
        if (!payload.IsSingleSegment || !MemoryMarshal.TryGetArray(payload.First, out message))
        {
            copy = ArrayPool<byte>.Shared.Rent(checked((int)payload.Length));
            payload.CopyTo(copy);
            message = new ArraySegment<byte>(copy, 0, (int)payload.Length);
        }

        try
        {
            return ParseChunk(message) ?? new PooledLogsResponse(LogsResponse.Parser.ParseFrom(payload), null);
        }
        finally
        {
            if (copy is not null)
            {
                ArrayPool<byte>.Shared.Return(copy);
            }
        }
    }

    // A LogsResponse of one chunk with known fields only; null for any other.
    private static PooledLogsResponse? ParseChunk(ArraySegment<byte> message)
    {
        byte[] buffer = message.Array!;
        var top = new CodedInputStream(buffer, message.Offset, message.Count);
        // Positions are taken relative to where each stream starts, whatever Position counts from.
        long topStart = top.Position;
        if (top.ReadTag() != ChunkTag)
        {
            return null;
        }

        int chunkLength = top.ReadLength();
        int chunkStart = message.Offset + (int)(top.Position - topStart);
        if (chunkLength < 0 || chunkStart + chunkLength != message.Offset + message.Count)
        {
            return null;
        }

        var chunk = new CodedInputStream(buffer, chunkStart, chunkLength);
        long start = chunk.Position;
        var result = new OutputChunk();
        int dataStart = 0;
        int dataLength = 0;
        uint tag;
        while ((tag = chunk.ReadTag()) != 0)
        {
            if (tag == StreamTag)
            {
                result.Stream = (OutputStream)chunk.ReadEnum();
            }
            else if (tag == OffsetTag)
            {
                result.Offset = chunk.ReadInt64();
            }
            else if (tag == DataTag)
            {
                // The length is read from a second stream, then the first skips the field: where
                // it lands, less the length, is where the bytes start. The last data field wins,
                // as in the generated parser.
                int at = chunkStart + (int)(chunk.Position - start);
                dataLength = new CodedInputStream(buffer, at, chunkStart + chunkLength - at).ReadLength();
                chunk.SkipLastField();
                dataStart = chunkStart + (int)(chunk.Position - start) - dataLength;
            }
            else if (tag == TimeTag)
            {
                var time = new Timestamp();
                chunk.ReadMessage(time);
                result.Time = time;
            }
            else
            {
                return null;
            }
        }

        if (dataLength == 0)
        {
            return new PooledLogsResponse(new LogsResponse { Chunk = result }, null);
        }

        byte[] rented = ArrayPool<byte>.Shared.Rent(dataLength);
        buffer.AsSpan(dataStart, dataLength).CopyTo(rented);
        result.Data = UnsafeByteOperations.UnsafeWrap(rented.AsMemory(0, dataLength));
        return new PooledLogsResponse(new LogsResponse { Chunk = result }, rented);
    }
}

public static partial class Jobs
{
    public partial class JobsClient
    {
        /// <summary><c>Logs</c>, each response's chunk data in a pooled buffer (<see cref="PooledLogs"/>).</summary>
        internal AsyncServerStreamingCall<PooledLogsResponse> LogsPooled(LogsRequest request, CancellationToken cancellationToken) =>
            CallInvoker.AsyncServerStreamingCall(PooledLogs.Method, null, new CallOptions(cancellationToken: cancellationToken), request);
    }
}
