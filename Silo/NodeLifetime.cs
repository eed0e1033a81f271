using Jobs.Grains;
using Microsoft.Extensions.Hosting;

namespace Jobs.Silo;

/// <summary>A drained node leaves by stopping its host: Orleans then leaves the membership gracefully.</summary>
internal sealed class NodeLifetime(IHostApplicationLifetime lifetime) : INodeLifetime
{
    public void Leave() => lifetime.StopApplication();
}
