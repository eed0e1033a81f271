using Orleans.Concurrency;

namespace Jobs.Grains;

/// <summary>Answers from the membership view of the silo the call reached; see <see cref="INodeDirectoryGrain"/>.</summary>
[StatelessWorker]
public sealed class NodeDirectoryGrain(IClusterView cluster, NodeLoads loads) : Grain, INodeDirectoryGrain
{
    // The list asks every live node now: whoever lists the nodes wants their figures of this moment.
    public async Task<ClusterNode[]> ListAsync()
    {
        var members = cluster.Members();
        var live = members.Where(m => m.Status != NodeStatus.Dead).ToList();
        var names = live.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);

        // Members come newest first: keep one dead entry per name, and none for a name that is live again.
        var dead = members.Where(m => m.Status == NodeStatus.Dead && names.Add(m.Name));
        var answers = await loads.AskAsync(live);
        return [.. answers.OrderBy(n => n.Name, StringComparer.Ordinal), .. dead.Select(m => new ClusterNode(m.Name, m.Silo, NodeStatus.Dead, null))];
    }

    // A Run's pick answers from the placement view, never waiting on a node.
    public Task<ClusterNode> PickAsync(string? name) => loads.PickAsync(name);

    public Task<ClusterNode> PickNowAsync(string? name) => loads.PickAsync(name, now: true);
}
