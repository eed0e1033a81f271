using Jobs.Platform.Contract;
using Jobs.TestSupport;

namespace Jobs.Platform.Tests;

/// <summary>The child-process contract (tests/Platform.Contract) against this OS's launcher; the Win32 one runs it under Wine.</summary>
public sealed class ChildContractTests : IAsyncLifetime, IDisposable
{
    private readonly IChildLauncher _launcher = ChildLauncher.CreateForCurrentOS();
    private readonly string _scratch = Directory.CreateTempSubdirectory("jobs-contract-").FullName;

    public static TheoryData<string> Checks => [.. ChildContract.ForThisOS.Select(c => c.Name)];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _launcher.KillAllAsync(cleanup.Token);
    }

    public void Dispose()
    {
        (_launcher as IDisposable)?.Dispose();
        Directory.Delete(_scratch, recursive: true);
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Checks))]
    public async Task Contract(string check)
    {
        var run = ChildContract.ForThisOS.Single(c => c.Name == check).Check;

        await run(new ContractContext(_launcher, TestChildProgram.Path, [], _scratch));
    }
}
