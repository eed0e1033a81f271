using Jobs.Grains;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace Jobs.Silo;

/// <summary>Places a node grain on the silo its key names; refuses when that silo is not a live member.</summary>
internal sealed class NodePlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        string key = target.GrainIdentity.Key.ToString();
        SiloAddress silo;
        try
        {
            silo = SiloAddress.FromParsableString(key);
        }
        catch (FormatException)
        {
            throw new NodeUnavailableException($"'{key}' is not a silo address");
        }

        return context.GetCompatibleSilos(target).Contains(silo)
            ? Task.FromResult(silo)
            : throw new NodeUnavailableException($"node {key} is not a live member of the cluster");
    }
}
