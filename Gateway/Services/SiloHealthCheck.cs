using Jobs.Grains;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Jobs.Gateway.Services;

/// <summary>Healthy when a grain call reaches the silo within 5 s: the gateway can serve jobs.</summary>
public sealed class SiloHealthCheck(IClusterClient client) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await client.GetGrain<IJobRegistryGrain>(0).PingAsync().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            return HealthCheckResult.Healthy("the silo answers");
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"the silo does not answer: {e.Message}");
        }
    }
}
