using Orleans.Placement;

namespace Jobs.Grains;

/// <summary>Marks a grain keyed by a silo address as living on that silo (<see cref="NodePlacementStrategy"/>).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class NodePlacementAttribute() : PlacementAttribute(NodePlacementStrategy.Instance);
