using Jobs.Platform.Unix;
using Jobs.TestSupport;

namespace Jobs.Platform.Tests;

/// <summary>The cgroup of an ended job that cannot be removed at once.</summary>
public sealed class CgroupRemovalTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly UnixChildLauncher _launcher = new();

    public void Dispose()
    {
        using var cleanup = new CancellationTokenSource(Patience);
        _launcher.KillAllAsync(cleanup.Token).GetAwaiter().GetResult();
        _launcher.Dispose();
    }

    [Fact(Timeout = 90_000)]
    public async Task A_job_cgroup_that_cannot_be_removed_at_the_end_is_removed_once_it_can_be()
    {
        var cgroups = _launcher.Cgroups;
        Assert.NotNull(cgroups);
        cgroups.RetryPeriod = TimeSpan.FromMilliseconds(200);

        var child = (UnixChild)await _launcher.StartAsync(new ChildSpec(TestChildProgram.Path, ["sleep", "600"], Limits: new ChildLimits(MaxProcesses: 50)), CancellationToken.None);
        string tracking = child.Cgroup!.Tracking;

        // A folder inside the job's makes its removal fail (EBUSY), as a job (root) can do itself.
        string inside = Path.Combine(tracking, "made-inside");
        Directory.CreateDirectory(inside);
        try
        {
            await child.KillAsync(CancellationToken.None).WaitAsync(Patience);

            Assert.True(Directory.Exists(tracking), "the folder went at once: the test proves nothing");
            Assert.Contains(tracking, cgroups.Stuck);
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.True(Directory.Exists(tracking));

            Directory.Delete(inside);

            Assert.True(await WaitAsync(() => !Directory.Exists(tracking), Patience), $"{tracking} was never removed");
            Assert.True(await WaitAsync(() => cgroups.Stuck.Count == 0, Patience), "the folder is still listed as stuck");
        }
        finally
        {
            if (Directory.Exists(inside))
            {
                Directory.Delete(inside);
            }
        }
    }

    private static async Task<bool> WaitAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }
}
