namespace Jobs.Gateway.Security;

/// <summary>
/// Looks at the deny list about every second, so a revocation ends open calls (a <c>logs</c> follow,
/// a health watch) even when the revoked certificate makes no new call. A poll of a stat rather than
/// a file-system watcher: it works the same on every file system and for a file replaced by rename.
/// </summary>
public sealed class DenyListWatcher(DenyList denyList, ILogger<DenyListWatcher> logger) : BackgroundService
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                denyList.Refresh();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // One bad tick must not stop the watching for good.
                logger.LogError(e, "Watching the deny list failed");
            }
        }
    }
}
