using Jobs.Grains;
using Jobs.Protos;
using DropNotice = Jobs.Protos.OutputDropped;

namespace Jobs.Gateway.Services;

/// <summary>Which streams a <c>Logs</c> call wants, from which offset of each, and from which time.</summary>
internal sealed class OutputSelection
{
    private readonly bool _stdout;
    private readonly bool _stderr;
    private readonly long _stdoutOffset;
    private readonly long _stderrOffset;

    // The offsets a follower has reached in each stream: where output it is told is missing begins.
    private long _stdoutNext;
    private long _stderrNext;
    private readonly long _sinceTicks;

    private OutputSelection(bool stdout, bool stderr, long stdoutOffset, long stderrOffset, long sinceTicks)
    {
        _sinceTicks = sinceTicks;
        _stdout = stdout;
        _stderr = stderr;
        _stdoutOffset = stdoutOffset;
        _stderrOffset = stderrOffset;
        _stdoutNext = stdoutOffset;
        _stderrNext = stderrOffset;
    }

    public static OutputSelection From(LogsRequest request)
    {
        if (request.StdoutOffset < 0 || request.StderrOffset < 0)
        {
            throw new InvalidRequestException("offsets cannot be negative");
        }

        bool both = request.Stdout == request.Stderr;
        long since = request.Since is { } time ? ProtoMapping.FromProto(time, "since") : 0;
        return new OutputSelection(both || request.Stdout, both || request.Stderr, request.StdoutOffset, request.StderrOffset, since);
    }

    /// <summary>Where to start reading the whole output so that no wanted byte is missed.</summary>
    public async Task<long> StartPositionAsync(IJobGrain grain)
    {
        long stdout = _stdout ? await grain.FindPositionAsync(OutputStreamKind.Stdout, _stdoutOffset) : long.MaxValue;
        long stderr = _stderr ? await grain.FindPositionAsync(OutputStreamKind.Stderr, _stderrOffset) : long.MaxValue;
        return Math.Min(stdout, stderr);
    }

    /// <summary>The wanted part of a record: null when none of it is wanted.</summary>
    public OutputRecord? Select(OutputRecord record)
    {
        bool stdout = record.Stream == OutputStreamKind.Stdout;
        if (!(stdout ? _stdout : _stderr) || record.Ticks < _sinceTicks)
        {
            return null;
        }

        long from = stdout ? _stdoutOffset : _stderrOffset;
        if (record.Offset + record.Data.Length <= from)
        {
            return null;
        }

        var selected = record.From(record.Position + Math.Max(0, from - record.Offset));
        if (stdout)
        {
            _stdoutNext = Math.Max(_stdoutNext, selected.Offset + selected.Data.Length);
        }
        else
        {
            _stderrNext = Math.Max(_stderrNext, selected.Offset + selected.Data.Length);
        }

        return selected;
    }

    /// <summary>
    /// The notice of a run not held, for the streams wanted: from the offsets reached to where output
    /// resumes; null when none of the wanted streams' bytes from there on are missing.
    /// </summary>
    public DropNotice? Dropped(OutputMark resume, OutputGap? gap)
    {
        var start = gap?.Start ?? OutputMark.Zero;
        long stdoutFrom = Math.Max(_stdoutNext, start.StdoutOffset);
        long stderrFrom = Math.Max(_stderrNext, start.StderrOffset);
        bool lost = (_stdout && resume.StdoutOffset > stdoutFrom) || (_stderr && resume.StderrOffset > stderrFrom);
        if (!lost)
        {
            return null;
        }

        var notice = new DropNotice
        {
            StdoutOffset = resume.StdoutOffset,
            StderrOffset = resume.StderrOffset,
            StdoutFrom = Math.Min(stdoutFrom, resume.StdoutOffset),
            StderrFrom = Math.Min(stderrFrom, resume.StderrOffset),
            Reason = (gap?.Reason ?? OutputDropReason.Cap).ToProto(),
        };
        _stdoutNext = Math.Max(_stdoutNext, resume.StdoutOffset);
        _stderrNext = Math.Max(_stderrNext, resume.StderrOffset);
        return notice;
    }
}
