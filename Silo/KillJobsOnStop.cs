using Jobs.Grains;
using Jobs.Platform;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Jobs.Silo;

/// <summary>
/// Kills every job still running when the host stops. Grains kill their process when deactivated,
/// but a silo that stops does not promise to deactivate every grain; this does not depend on it.
/// </summary>
internal sealed class KillJobsOnStop(IChildLauncher launcher, ILogger<KillJobsOnStop> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        logger.LogInformation("Job process trees are tracked with {TreeTracking}", launcher.TreeTracking);
        logger.LogInformation("Out of memory: {OomProtection}", launcher.OomProtection);
        logger.LogInformation("Open files: {OpenFiles}", launcher.OpenFiles);
        logger.LogInformation(
            "A job that asks for no process limit, where Jobs:Limits:Default:Pids is unset, gets {DefaultPids}",
            launcher.DefaultMaxProcesses is { } pids ? $"at most {pids} processes (Jobs:Platform:DefaultJobPids)" : "none");
        JobMetrics.ObserveNode(launcher);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        logger.LogInformation("Stopping: killing every running job");
        try
        {
            await launcher.KillAllAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // A stop that may not wait (a forced stop, or its time ran out): every job was sent SIGKILL already.
            logger.LogWarning("Stopping: the stop ended before every job was seen gone; each was sent SIGKILL");
        }
    }
}
