using System.Diagnostics;
using Grpc.Core;

namespace Jobs.Bench.Floods;

/// <summary>
/// Many concurrent followers of one flood job, round after round until the floods end: each follower checks
/// every byte against the pattern (<see cref="Follower"/>). A round always runs to its end messages.
/// </summary>
internal sealed class FollowerFlood(ScenarioContext ctx, IReadOnlyList<JobsClient> clients, int followers, long bytes)
{
    private long _checked;
    private long _lost;
    private long _failedCalls;
    private readonly List<string> _errors = [];

    public Tally Calls { get; } = new();

    public int Rounds { get; private set; }

    /// <summary>Bytes received and found to be the pattern at their offset.</summary>
    public long BytesChecked => Interlocked.Read(ref _checked);

    /// <summary>Bytes a follower should have got and did not (dropped, wrong, or never sent).</summary>
    public long BytesLost => Interlocked.Read(ref _lost);

    /// <summary>The part of <see cref="BytesLost"/> that followers whose Logs call failed (a status, not an end message) did not get.</summary>
    public long BytesOfFailedCalls => Interlocked.Read(ref _failedCalls);

    /// <summary>The first few things that were wrong, for the report.</summary>
    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_errors)
            {
                return [.. _errors];
            }
        }
    }

    public async Task RunAsync(CancellationToken until, CancellationToken cancellationToken)
    {
        while (!until.IsCancellationRequested)
        {
            string jobId;
            try
            {
                jobId = (await clients[0].RunAsync(ctx.Flood(bytes, ctx.Options.WriteSize), cancellationToken: cancellationToken)).JobId;
                Calls.Add("Run OK");
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                Calls.Add($"Run {e.StatusCode}");
                Note($"Run: {e.StatusCode} {e.Status.Detail}");
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                continue;
            }

            var clock = Stopwatch.StartNew();
            var round = Enumerable.Range(0, followers).Select(i => new Follower($"round {Rounds} follower {i}")).ToList();
            await Task.WhenAll(round.Select((follower, i) =>
                Task.Run(() => follower.FollowAsync(clients[i % clients.Count], jobId, bytes, clock, 0, cancellationToken), cancellationToken)));
            foreach (var follower in round)
            {
                Interlocked.Add(ref _checked, follower.Bytes);
                Interlocked.Add(ref _lost, bytes - follower.Bytes);
                if (follower.FailedWith is not null)
                {
                    Interlocked.Add(ref _failedCalls, bytes - follower.Bytes);
                }

                Calls.Add(follower.Complete && follower.Drops == 0 ? "Logs OK, byte-exact" : follower.FailedWith is { } code ? $"Logs {code}" : "Logs wrong output");
                if (!follower.Complete || follower.Drops > 0)
                {
                    Note(follower.Describe());
                }
            }

            Rounds++;
        }
    }

    private void Note(string error)
    {
        lock (_errors)
        {
            if (_errors.Count < 5)
            {
                _errors.Add(error);
            }
        }
    }
}
