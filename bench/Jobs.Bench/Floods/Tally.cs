using System.Collections.Concurrent;
using Grpc.Core;

namespace Jobs.Bench.Floods;

/// <summary>Calls of one flood counted by outcome (a gRPC status name, or what else happened); safe from any thread.</summary>
internal sealed class Tally
{
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);

    public long Calls => _counts.Values.Sum();

    public void Add(string outcome) => _counts.AddOrUpdate(outcome, 1, (_, n) => n + 1);

    public void Add(StatusCode code) => Add(code.ToString());

    public long Count(string outcome) => _counts.GetValueOrDefault(outcome);

    public long Count(StatusCode code) => Count(code.ToString());

    /// <summary>Outcomes whose name contains <paramref name="fragment"/> (a status after a prefix, such as "truncated: Internal").</summary>
    public long CountEndingWith(string fragment) => _counts.Where(c => c.Key.EndsWith(fragment, StringComparison.Ordinal)).Sum(c => c.Value);

    /// <summary>"N calls: OK 12, InvalidArgument 3", most frequent first.</summary>
    public override string ToString() => Calls == 0
        ? "no calls"
        : $"{Calls} calls: {string.Join(", ", _counts.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value}"))}";
}
