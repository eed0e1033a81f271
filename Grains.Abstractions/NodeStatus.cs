namespace Jobs.Grains;

/// <summary>Where a node is in its life in the cluster.</summary>
[GenerateSerializer, Alias("Jobs.NodeStatus")]
public enum NodeStatus
{
    /// <summary>A member that takes jobs (unless it was started not to).</summary>
    Active = 1,

    /// <summary>Starting, not yet a member.</summary>
    Joining = 2,

    /// <summary>Leaving the cluster; it takes no new jobs.</summary>
    ShuttingDown = 3,

    /// <summary>Left the cluster, or declared dead by the others.</summary>
    Dead = 4,

    /// <summary>A member that takes no new jobs while its running ones finish.</summary>
    Draining = 5,
}
