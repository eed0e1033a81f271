using Microsoft.Extensions.Logging;

namespace Jobs.Grains;

// Notices of new output on the job's stream: how followers learn that there is more to read, and
// up to where; the bytes themselves they read by position.
public sealed partial class JobGrain
{
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
                await _stream!.OnNextAsync(new OutputNotice(start, end, final));
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
