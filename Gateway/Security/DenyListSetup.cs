namespace Jobs.Gateway.Security;

/// <summary>The deny list's part of the gateway's start.</summary>
public static class DenyListSetup
{
    /// <summary>
    /// Reads the deny list now, so a configured file that is missing or unreadable stops the start
    /// (a list that cannot be read must not mean "allow everyone"), and registers its watcher and the
    /// registry of open calls it ends.
    /// </summary>
    /// <exception cref="InvalidOperationException">The configured file does not exist or cannot be read.</exception>
    public static void AddDenyList(this WebApplicationBuilder builder, string? path)
    {
        path = string.IsNullOrWhiteSpace(path) ? null : path;
        var initial = path is null ? DenyListFile.None : DenyListFile.Read(path);
        builder.Services.AddSingleton(provider => new DenyList(path, initial, provider.GetRequiredService<ILogger<DenyList>>()));
        builder.Services.AddSingleton<OpenCalls>();
        if (path is not null)
        {
            builder.Services.AddHostedService<DenyListWatcher>();
        }
    }
}
