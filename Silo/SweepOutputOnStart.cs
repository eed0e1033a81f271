using Jobs.Grains;
using Jobs.Platform;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jobs.Silo;

/// <summary>
/// Output is not durable: at start, deletes the job folders a previous run left in the data
/// directory, and the default data directories of server processes that no longer exist. Only
/// folders named like a job id or a process id are touched, whatever the data directory is.
/// </summary>
internal sealed class SweepOutputOnStart(IOptions<JobOptions> options, ILogger<SweepOutputOnStart> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        string directory = options.Value.DataDirectory;
        int removed = DeleteWhere(directory, name => Guid.TryParseExact(name, "D", out _));
        removed += DeleteWhere(JobOptions.DefaultDataRoot, name => int.TryParse(name, out int pid) && !ProcessTable.Exists(pid));
        Directory.CreateDirectory(directory);
        logger.LogInformation("Job output goes to {DataDirectory} ({Removed} stale folders removed)", directory, removed);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private int DeleteWhere(string directory, Func<string, bool> stale)
    {
        if (!Directory.Exists(directory))
        {
            return 0;
        }

        int removed = 0;
        foreach (string folder in Directory.EnumerateDirectories(directory))
        {
            if (!stale(Path.GetFileName(folder)))
            {
                continue;
            }

            try
            {
                Directory.Delete(folder, recursive: true);
                removed++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                logger.LogWarning("Could not remove stale output folder {Folder}: {Reason}", folder, e.Message);
            }
        }

        return removed;
    }
}
