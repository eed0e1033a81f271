using Grpc.Core;
using Jobs.Protos;

namespace Jobs.Bench.Floods;

/// <summary>Callers that each start a <c>/bin/true</c> job and wait for its end, again and again; each end must be EXITED code 0.</summary>
internal sealed class BackToBack(ScenarioContext ctx, IReadOnlyList<JobsClient> clients)
{
    private readonly List<int> _pids = [];
    private long _finished;

    public Tally Calls { get; } = new();

    /// <summary>Jobs that ended EXITED with code 0.</summary>
    public long Finished => Interlocked.Read(ref _finished);

    /// <summary>The process ids the jobs had (from Wait), to check afterwards that none is left.</summary>
    public IReadOnlyList<int> Pids
    {
        get
        {
            lock (_pids)
            {
                return [.. _pids];
            }
        }
    }

    public Task RunAsync(CancellationToken until, CancellationToken cancellationToken) =>
        Task.WhenAll(clients.Select(client => Task.Run(() => CallAsync(client, until, cancellationToken), cancellationToken)));

    private async Task CallAsync(JobsClient client, CancellationToken until, CancellationToken cancellationToken)
    {
        var job = ctx.Job("/bin/true");
        while (!until.IsCancellationRequested)
        {
            string jobId;
            try
            {
                job.RequestId = Guid.NewGuid().ToString();
                jobId = (await client.RunAsync(job, cancellationToken: cancellationToken)).JobId;
                Calls.Add("Run OK");
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                Calls.Add($"Run {e.StatusCode}");
                continue;
            }

            try
            {
                var status = (await client.WaitAsync(new WaitRequest { JobId = jobId }, cancellationToken: cancellationToken)).Status;
                bool exited = status.State == JobState.Exited && status.ExitCode == 0;
                Calls.Add(exited ? "Wait OK" : $"Wait OK but {StatusText.Of(status)}");
                if (status.Pid > 0)
                {
                    lock (_pids)
                    {
                        _pids.Add(status.Pid);
                    }
                }

                if (exited)
                {
                    Interlocked.Increment(ref _finished);
                }
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                Calls.Add($"Wait {e.StatusCode}");
            }
        }
    }
}
