using System.Collections.Concurrent;

namespace Jobs.Grains;

/// <summary>
/// This node's jobs and whether it takes new ones: one per silo, shared by its job grains (which
/// count themselves in and out) and its node grain.
/// </summary>
public sealed class NodeState(bool acceptsJobs, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, bool> _running = new(StringComparer.Ordinal);
    private readonly long _started = time.GetTimestamp();
    private volatile bool _draining;

    /// <summary>When the node started.</summary>
    public DateTimeOffset StartedAt { get; } = time.GetUtcNow();

    /// <summary>How long the node has run.</summary>
    public TimeSpan Uptime => time.GetElapsedTime(_started);

    /// <summary>The node was started to run jobs (<c>Orleans:AcceptJobs</c>).</summary>
    public bool AcceptsJobs { get; } = acceptsJobs;

    /// <summary>A drain has begun.</summary>
    public bool Draining => _draining;

    /// <summary>New jobs may start here.</summary>
    public bool TakesJobs => AcceptsJobs && !_draining;

    /// <summary>Jobs running here now.</summary>
    public int RunningJobs => _running.Count;

    /// <summary>The ids of the jobs running here now.</summary>
    public IReadOnlyCollection<string> Running => [.. _running.Keys];

    /// <summary>Counts a job in; false when the node takes no new jobs (then nothing is counted).</summary>
    public bool TryAdd(string jobId)
    {
        if (!TakesJobs)
        {
            return false;
        }

        _running[jobId] = true;
        return true;
    }

    /// <summary>Counts a job out (it ended, or never started).</summary>
    public void Remove(string jobId) => _running.TryRemove(jobId, out _);

    /// <summary>Takes no new jobs from now on; true the first time.</summary>
    public bool BeginDrain()
    {
        bool first = !_draining;
        _draining = true;
        return first;
    }
}
