using Microsoft.Extensions.Logging;

namespace Jobs.Grains;

// Notices of new output on the job's stream: how followers learn that there is more to read.
public sealed partial class JobGrain
{
    // Notices carry output inline up to this size; memory streams lose large events and are slow per byte.
    private const int InlineLimit = 16 * 1024;

    private long _published;
    private bool _finalPublished;
    private bool _publishing;

    // One publish in flight at a time; whatever arrives meanwhile goes out in the next notice.
    private void PublishSoon()
    {
        WakeOutputWaiters();
        if (!_publishing)
        {
            _publishing = true;
            _ = PublishAsync();
        }
    }

    private async Task PublishAsync()
    {
        try
        {
            while (_status is not null && (_published < _log.End || (_status.Ended && !_finalPublished)))
            {
                long start = _published;
                long end = _log.End;
                var final = _status.Ended ? CurrentStatus() : null;
                OutputGap? skipped = null;
                var records = end - start <= InlineLimit && end > start ? _log.Read(start, InlineLimit, out skipped) : null;

                // Output not held in between: followers read by position, and are told of it there.
                records = skipped is null && (records is null || records.Length == 0 || records[^1].EndPosition == end) ? records : null;
                await _stream!.OnNextAsync(new OutputNotice(start, end, records, final));
                _published = end;
                _finalPublished |= final is not null;
            }
        }
        catch (Exception e)
        {
            // Followers fall back to reading by position; a lost notice delays them, it loses nothing.
            logger.LogWarning(e, "Job {JobId}: publishing an output notice failed", this.GetPrimaryKeyString());
        }
        finally
        {
            _publishing = false;
        }
    }
}
