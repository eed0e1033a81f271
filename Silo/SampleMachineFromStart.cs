using Jobs.Platform;
using Microsoft.Extensions.Hosting;

namespace Jobs.Silo;

/// <summary>
/// Makes the machine's sampler at the host's start (the container disposes it at the end), so a
/// node's first answer already has a CPU figure rather than the zero of a sampler made on demand.
/// </summary>
internal sealed class SampleMachineFromStart(MachineStatistics machine) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Being resolved for this service is what started it.
        GC.KeepAlive(machine);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
