using System.Collections.Concurrent;

namespace Jobs.Grains.Tests;

/// <summary>
/// A silo filter that makes the nodes named here slow to say what they are (<see cref="INodeGrain.GetInfoAsync"/>),
/// as a node that is overloaded or half gone is: it still runs its jobs, it just does not answer in time.
/// </summary>
internal sealed class StalledNodeInfo(ILocalSiloDetails silo) : IIncomingGrainCallFilter
{
    /// <summary>By silo address: how long its node takes to answer.</summary>
    public static readonly ConcurrentDictionary<string, TimeSpan> Stalls = new(StringComparer.Ordinal);

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.InterfaceMethod?.Name == nameof(INodeGrain.GetInfoAsync) && Stalls.TryGetValue(silo.SiloAddress.ToParsableString(), out var stall))
        {
            await Task.Delay(stall);
        }

        await context.Invoke();
    }
}
