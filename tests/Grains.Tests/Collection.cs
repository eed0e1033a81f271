namespace Jobs.Grains.Tests;

/// <summary>Orleans' collection of idle activations, forced.</summary>
internal static class Collection
{
    /// <summary>Forces collection until the job's activation is gone (a running job keeps itself activated, so this fails for one).</summary>
    public static async Task CollectIdleAsync(IClusterClient client, string jobId)
    {
        var management = client.GetGrain<IManagementGrain>(0);
        var grain = (GrainReference)client.GetGrain<IJobGrain>(jobId);
        for (int attempt = 0; attempt < 50; attempt++)
        {
            await Task.Delay(100);
            await management.ForceActivationCollection(TimeSpan.FromMilliseconds(50));
            if (await management.GetGrainActivationCount(grain) == 0)
            {
                return;
            }
        }

        Assert.Fail($"job {jobId} was still activated after 50 forced collections");
    }
}
