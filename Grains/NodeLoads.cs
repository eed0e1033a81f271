namespace Jobs.Grains;

/// <summary>
/// What the nodes last said about themselves, as this silo heard it: the placement view. A Run
/// picks its node from it without asking every node, so a node that does not answer costs no Run
/// more than the view's age; the view is asked again in the background once it is older than
/// <see cref="MaxAge"/>. The jobs this silo placed since the nodes were asked count as running
/// there, so that Runs that arrive together spread instead of all going to the node that was
/// the least loaded a moment ago.
/// </summary>
public sealed class NodeLoads(IClusterView cluster, IGrainFactory grains, TimeProvider time)
{
    /// <summary>How old the view may get before a pick asks the nodes again (it does not wait for the answers).</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(1);

    // A live node that does not answer within this is without figures, and gets no new job.
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(2);

    private readonly Lock _gate = new();

    // By silo address: what each node answered when last asked (null: it did not answer).
    private Dictionary<string, NodeInfo?>? _infos;

    // By silo address: jobs placed since the nodes were last asked.
    private Dictionary<string, int> _placed = new(StringComparer.Ordinal);
    private long _askedAt;
    private Task? _asking;

    /// <summary>
    /// The node for a new job: the named one, or the one with the fewest running jobs (counting
    /// those placed here since it was asked), then the least busy CPU; counted as placed there.
    /// </summary>
    /// <param name="name">The node asked for, or null for any.</param>
    /// <param name="now">Ask the nodes first and pick from their answers (the view is refreshed with them).</param>
    /// <exception cref="NodeUnavailableException">No live node (or none of that name) takes jobs now.</exception>
    public async Task<ClusterNode> PickAsync(string? name, bool now = false)
    {
        var asking = now ? RefreshAsync() : AskIfOld();
        if (now || Unknown())
        {
            // Asked for, or a live member the view has never asked (the silo's first pick, a node
            // that joined or came back since): there is nothing to answer from yet.
            await asking;
        }

        lock (_gate)
        {
            var nodes = cluster.Members()
                .Where(m => m.Status == NodeStatus.Active)
                .Select(m => Node(m, _infos!.GetValueOrDefault(m.Silo)))
                .ToList();
            var candidates = nodes.Where(n => name is null || n.Name == name).ToList();
            var chosen = candidates.Where(n => n.TakesJobs)
                .OrderBy(n => n.Info!.RunningJobs + _placed.GetValueOrDefault(n.Address))
                .ThenBy(n => n.Info!.CpuPercent)
                .FirstOrDefault();
            if (chosen is not null)
            {
                _placed[chosen.Address] = _placed.GetValueOrDefault(chosen.Address) + 1;
                return chosen;
            }

            if (now)
            {
                string open = string.Join(", ", nodes.Where(n => n.TakesJobs).Select(n => n.Name).Order(StringComparer.Ordinal));
                string which = open.Length == 0 ? "no node takes jobs now" : $"nodes that take jobs: {open}";
                throw new NodeUnavailableException(name is null
                    ? "no live node takes jobs now"
                    : candidates.Count == 0 ? $"no live node is named '{name}'; {which}" : $"node '{name}' takes no jobs now ({Why(candidates[0])}); {which}");
            }
        }

        // Never refused from a view that may be a second old: from what the nodes answer now.
        return await PickAsync(name, now: true);
    }

    /// <summary>Every live member as it answers now (each within <see cref="AnswerTimeout"/>), newest figures, no view.</summary>
    public Task<ClusterNode[]> AskAsync(IEnumerable<ClusterMember> members) => Task.WhenAll(members.Select(AskAsync));

    private bool Unknown()
    {
        lock (_gate)
        {
            return _infos is null || cluster.Members().Any(m => m.Status == NodeStatus.Active && !_infos.ContainsKey(m.Silo));
        }
    }

    private static string Why(ClusterNode node) => node.Info switch
    {
        null => "it does not answer",
        { Draining: true } => "it drains",
        { AcceptsJobs: false } => "it was started with Orleans:AcceptJobs=false",
        _ => "it is not active",
    };

    private static ClusterNode Node(ClusterMember member, NodeInfo? info) =>
        new(member.Name, member.Silo, member.Status == NodeStatus.Active && info is { Draining: true } ? NodeStatus.Draining : member.Status, info);

    // One round of asking in the background at a time (a pick that asks now runs its own); a pick
    // never waits for it once there is a view.
    private Task AskIfOld()
    {
        lock (_gate)
        {
            if (_asking is not { IsCompleted: false } && (_infos is null || time.GetElapsedTime(_askedAt) >= MaxAge))
            {
                _asking = RefreshAsync();
            }

            return _asking ?? Task.CompletedTask;
        }
    }

    private async Task RefreshAsync()
    {
        Dictionary<string, int> placedBefore;
        lock (_gate)
        {
            placedBefore = new Dictionary<string, int>(_placed, StringComparer.Ordinal);
        }

        long askedAt = time.GetTimestamp();
        var answers = await AskAsync(cluster.Members().Where(m => m.Status == NodeStatus.Active));
        lock (_gate)
        {
            _infos = answers.ToDictionary(n => n.Address, n => n.Info, StringComparer.Ordinal);

            // What the answers count already; jobs placed while they came are still to count.
            _placed = _placed
                .Select(p => (p.Key, Count: p.Value - placedBefore.GetValueOrDefault(p.Key)))
                .Where(p => p.Count > 0)
                .ToDictionary(p => p.Key, p => p.Count, StringComparer.Ordinal);
            _askedAt = askedAt;
        }
    }

    private async Task<ClusterNode> AskAsync(ClusterMember member)
    {
        NodeInfo? info = null;
        try
        {
            info = await grains.GetGrain<INodeGrain>(member.Silo).GetInfoAsync().WaitAsync(AnswerTimeout);
        }
        catch (Exception e) when (e is TimeoutException or SiloUnavailableException or OrleansMessageRejectionException or NodeUnavailableException)
        {
            // Dying or too busy to answer: without figures, and given no job.
        }

        return Node(member, info);
    }
}
