using Jobs.Platform.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Jobs.Silo;

/// <summary>
/// Output is not durable: at start, checks the data directory (the server refuses to start with an
/// unsafe one) and deletes the folders of servers that ended. Folders of live servers sharing the
/// directory, and anything else in it, are left alone.
/// </summary>
internal sealed class SweepOutputOnStart(DataDirectory directory, ILogger<SweepOutputOnStart> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        int removed = directory.RemoveEnded((folder, e) => logger.LogWarning("Could not remove the output of an ended server, {Folder}: {Reason}", folder, e.Message));
        logger.LogInformation("Job output goes to {ServerFolder} ({Removed} folders of ended servers removed)", directory.ServerFolder, removed);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
