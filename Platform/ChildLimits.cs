namespace Jobs.Platform;

/// <summary>Resource limits applied to a child's whole tree before its first instruction.</summary>
/// <param name="MaxProcesses">The most processes and threads the tree may hold at once (cgroup <c>pids.max</c>).</param>
public sealed record ChildLimits(int? MaxProcesses = null)
{
    /// <summary>True when no limit is set.</summary>
    public bool None => MaxProcesses is null;
}
