using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using Jobs.Gateway.Services;
using Jobs.Protos;
using Jobs.TestChild;

namespace Jobs.Bench.Ceiling;

/// <summary>
/// <c>Logs</c> of a job that wrote the flood pattern: as many bytes as the job id says (BYTES, or
/// BYTES@MESSAGE for messages smaller than the gateway's largest read, the default), sliced from one preallocated array without a copy, then the end
/// message a flood job that exited 0 gets. Every other call is unimplemented.
/// </summary>
internal sealed class CeilingService : Jobs.Protos.Jobs.JobsBase
{
    /// <summary>The largest chunk the gateway sends (one read of the job's output), and the ceiling's default message.</summary>
    public const int ChunkSize = JobOutputFollower.ReadSize;

    // The flood pattern repeats every 2 KiB * 251 bytes (both of its terms are mod 251), so one
    // period plus a chunk holds every chunk at every offset.
    private const int Period = 2048 * 251;

    private static readonly byte[] s_pattern = Fill();

    public override async Task Logs(LogsRequest request, IServerStreamWriter<LogsResponse> responseStream, ServerCallContext context)
    {
        string[] parts = request.JobId.Split('@');
        int chunkSize = ChunkSize;
        if (parts.Length > 2
            || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long bytes)
            || (parts.Length == 2 && (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out chunkSize) || chunkSize is < 1 or > ChunkSize)))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"the ceiling's job id is BYTES or BYTES@MESSAGE (the message size, 1 to {ChunkSize})"));
        }

        var started = DateTime.UtcNow;
        for (long offset = 0; offset < bytes;)
        {
            int size = (int)Math.Min(chunkSize, bytes - offset);
            var data = UnsafeByteOperations.UnsafeWrap(s_pattern.AsMemory((int)(offset % Period), size));
            await responseStream.WriteAsync(new LogsResponse { Chunk = new OutputChunk { Stream = OutputStream.Stdout, Offset = offset, Data = data } }, context.CancellationToken);
            offset += size;
        }

        var end = new JobStatus
        {
            JobId = request.JobId,
            State = JobState.Exited,
            ExitCode = 0,
            StdoutBytes = bytes,
            StartedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(started),
            EndedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(DateTime.UtcNow),
        };
        await responseStream.WriteAsync(new LogsResponse { End = end }, context.CancellationToken);
    }

    private static byte[] Fill()
    {
        var pattern = GC.AllocateUninitializedArray<byte>(Period + ChunkSize, pinned: true);
        Pattern.Fill(0, pattern);
        return pattern;
    }
}
