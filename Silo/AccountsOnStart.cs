using Jobs.Platform;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Jobs.Silo;

/// <summary>
/// At start, makes (or checks) the folder of homes, so that an unsafe one stops the server rather
/// than its first job, and says who jobs run as: a server that cannot switch users says so once.
/// </summary>
internal sealed class AccountsOnStart(IJobAccounts accounts, ILogger<AccountsOnStart> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (accounts.CannotSwitch is { } why)
        {
            logger.LogWarning(
                "Jobs run as the server's own user {User}: {Reason}. They can reach what that user can, and run --user is refused; run the server as root for jobs of accounts of their own",
                accounts.Server.Name, why);
        }
        else
        {
            logger.LogInformation("Jobs run as their identities' accounts (Jobs:Accounts), never as root unless it is mapped");
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
