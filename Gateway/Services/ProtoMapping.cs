using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Jobs.Grains;
using Proto = Jobs.Protos;

namespace Jobs.Gateway.Services;

/// <summary>Translates grain records to the wire contract.</summary>
internal static class ProtoMapping
{
    public static Proto.JobStatus ToProto(this JobStatus status)
    {
        var proto = new Proto.JobStatus
        {
            JobId = status.JobId,
            State = status.State switch
            {
                JobState.Running => Proto.JobState.Running,
                JobState.Exited => Proto.JobState.Exited,
                JobState.Killed => Proto.JobState.Killed,
                _ => Proto.JobState.Unspecified,
            },
            Command = status.Command,
            Pid = status.Pid,
            ExitCode = status.ExitCode ?? 0,
            Signal = status.Signal ?? 0,
            SignalName = status.SignalName ?? string.Empty,
            StartedAt = Timestamp.FromDateTimeOffset(status.StartedAt),
            EndedAt = status.EndedAt is { } ended ? Timestamp.FromDateTimeOffset(ended) : null,
            StdoutBytes = status.StdoutBytes,
            StderrBytes = status.StderrBytes,
            EndReason = status.EndReason switch
            {
                EndReason.KilledByRequest => Proto.EndReason.KilledByRequest,
                EndReason.TimedOut => Proto.EndReason.TimedOut,
                _ => Proto.EndReason.Unspecified,
            },
        };
        proto.Args.AddRange(status.Args);
        return proto;
    }

    public static Proto.OutputDropped ToDroppedProto(this OutputMark first) => new()
    {
        StdoutOffset = first.StdoutOffset,
        StderrOffset = first.StderrOffset,
    };

    public static Proto.OutputChunk ToProto(this OutputRecord record) => new()
    {
        Stream = record.Stream == OutputStreamKind.Stdout ? Proto.OutputStream.Stdout : Proto.OutputStream.Stderr,
        Offset = record.Offset,

        // Records are immutable once recorded, so the bytes can go out without a copy.
        Data = UnsafeByteOperations.UnsafeWrap(record.Data),
    };
}
