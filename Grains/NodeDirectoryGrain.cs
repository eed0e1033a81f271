using Orleans.Concurrency;

namespace Jobs.Grains;

/// <summary>Answers from the membership view of the silo the call reached; see <see cref="INodeDirectoryGrain"/>.</summary>
[StatelessWorker]
public sealed class NodeDirectoryGrain(IClusterView cluster) : Grain, INodeDirectoryGrain
{
    // A live node that does not answer within this is listed without figures, and gets no new job.
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(2);

    public async Task<ClusterNode[]> ListAsync()
    {
        var members = cluster.Members();
        var live = members.Where(m => m.Status != NodeStatus.Dead).ToList();
        var names = live.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);

        // Members come newest first: keep one dead entry per name, and none for a name that is live again.
        var dead = members.Where(m => m.Status == NodeStatus.Dead && names.Add(m.Name));
        var answers = await Task.WhenAll(live.Select(AskAsync));
        return [.. answers.OrderBy(n => n.Name, StringComparer.Ordinal), .. dead.Select(m => new ClusterNode(m.Name, m.Silo, NodeStatus.Dead, null))];
    }

    public async Task<ClusterNode> PickAsync(string? name)
    {
        // One round of answers serves both the choice and the refusal, so the two cannot disagree.
        var nodes = await Task.WhenAll(cluster.Members().Where(m => m.Status == NodeStatus.Active).Select(AskAsync));
        var candidates = nodes.Where(n => name is null || n.Name == name).ToList();
        var chosen = candidates.Where(n => n.TakesJobs)
            .OrderBy(n => n.Info!.RunningJobs)
            .ThenBy(n => n.Info!.CpuPercent)
            .FirstOrDefault();
        if (chosen is not null)
        {
            return chosen;
        }

        string open = string.Join(", ", nodes.Where(n => n.TakesJobs).Select(n => n.Name).Order(StringComparer.Ordinal));
        string which = open.Length == 0 ? "no node takes jobs now" : $"nodes that take jobs: {open}";
        throw new NodeUnavailableException(name is null
            ? "no live node takes jobs now"
            : candidates.Count == 0 ? $"no live node is named '{name}'; {which}" : $"node '{name}' takes no jobs now ({Why(candidates[0])}); {which}");
    }

    private static string Why(ClusterNode node) => node.Info switch
    {
        null => "it does not answer",
        { Draining: true } => "it drains",
        { AcceptsJobs: false } => "it was started with Orleans:AcceptJobs=false",
        _ => "it is not active",
    };

    private async Task<ClusterNode> AskAsync(ClusterMember member)
    {
        NodeInfo? info = null;
        try
        {
            info = await GrainFactory.GetGrain<INodeGrain>(member.Silo).GetInfoAsync().WaitAsync(AnswerTimeout);
        }
        catch (Exception e) when (e is TimeoutException or SiloUnavailableException or OrleansMessageRejectionException or NodeUnavailableException)
        {
            // Dying or too busy to answer: listed without figures, and given no job.
        }

        var status = member.Status == NodeStatus.Active && info is { Draining: true } ? NodeStatus.Draining : member.Status;
        return new ClusterNode(member.Name, member.Silo, status, info);
    }
}
