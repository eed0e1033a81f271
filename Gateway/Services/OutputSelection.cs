using Jobs.Grains;
using Jobs.Protos;

namespace Jobs.Gateway.Services;

/// <summary>Which streams a <c>Logs</c> call wants, from which offset of each, and from which time.</summary>
internal sealed class OutputSelection
{
    private readonly bool _stdout;
    private readonly bool _stderr;
    private readonly long _stdoutOffset;
    private readonly long _stderrOffset;
    private readonly long _sinceTicks;

    private OutputSelection(bool stdout, bool stderr, long stdoutOffset, long stderrOffset, long sinceTicks)
    {
        _sinceTicks = sinceTicks;
        _stdout = stdout;
        _stderr = stderr;
        _stdoutOffset = stdoutOffset;
        _stderrOffset = stderrOffset;
    }

    public static OutputSelection From(LogsRequest request)
    {
        if (request.StdoutOffset < 0 || request.StderrOffset < 0)
        {
            throw new InvalidRequestException("offsets cannot be negative");
        }

        bool both = request.Stdout == request.Stderr;
        long since = request.Since is { } time ? time.ToDateTime().Ticks : 0;
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

        return record.From(record.Position + Math.Max(0, from - record.Offset));
    }

    /// <summary>True when output of a wanted stream was dropped before the caller got it.</summary>
    public bool LostBefore(OutputMark first) =>
        (_stdout && first.StdoutOffset > _stdoutOffset) || (_stderr && first.StderrOffset > _stderrOffset);
}
