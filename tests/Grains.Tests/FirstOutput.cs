namespace Jobs.Grains.Tests;

/// <summary>Waiting for a job's first output: what a child says once it is ready (a handler installed, a first line written).</summary>
internal static class FirstOutput
{
    /// <summary>Polls the job's status every 20 ms until it has written to stdout; the test's timeout bounds it.</summary>
    public static async Task WaitAsync(IJobGrain job, CancellationToken cancellationToken = default)
    {
        while ((await job.GetStatusAsync()).StdoutBytes == 0)
        {
            await Task.Delay(20, cancellationToken);
        }
    }
}
