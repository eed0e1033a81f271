namespace Jobs.EndToEnd.Tests;

/// <summary>A one-command server of its own for the kill, timeout and retried-Run tests, which keep jobs running for tens of seconds.</summary>
public sealed class ControlServerFixture : IAsyncLifetime
{
    public ServerProcess Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await ServerProcess.StartCombinedAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class ControlServerCollection : ICollectionFixture<ControlServerFixture>
{
    public const string Name = "control server";
}
