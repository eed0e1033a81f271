using Orleans.Placement;
using Orleans.Runtime;

namespace Jobs.Grains;

/// <summary>Places a grain keyed by a silo address on that silo, and nowhere else.</summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class NodePlacementStrategy : PlacementStrategy
{
    /// <summary>The one instance.</summary>
    public static NodePlacementStrategy Instance { get; } = new();
}
