using Jobs.Platform;
using Jobs.Platform.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Configuration;
using Orleans.Placement;
using Orleans.Streams;

namespace Jobs.Grains;

/// <summary>
/// One job: owns its child process, records its output, and publishes notices of new output on the
/// job's stream. Reentrant so that reads and status calls are answered while a kill or a publish is
/// awaited; every field is still touched only from grain turns.
/// </summary>
/// <remarks>
/// Placed by the caller (the node picked at Run is the placement hint; anywhere else the grain
/// refuses to start), and never moved: its process lives on its node. An activation that finds a
/// record of its job in the cluster store but no process answers for a job whose node is gone.
/// </remarks>
// Activation and the status here; starting in JobGrain.Start.cs, stopping in JobGrain.Stop.cs,
// output in JobGrain.Output.cs, the exit path in JobGrain.End.cs, notices in JobGrain.Publish.cs,
// its record in the cluster store in JobGrain.Record.cs, forgetting and deactivation in
// JobGrain.Forget.cs.
[Reentrant]
[PreferLocalPlacement]
[Immovable]
public sealed partial class JobGrain(
    IChildLauncher launcher,
    IJobAccounts accounts,
    DynamicUids uids,
    DataDirectory dataDirectory,
    OutputBudget budget,
    NodeState node,
    IClusterView cluster,
    [PersistentState("record", JobStorage.Name)] IPersistentState<JobRecord> record,
    IOptions<JobOptions> options,
    IOptions<SiloMessagingOptions> messaging,
    ILogger<JobGrain> logger)
    : Grain, IJobGrain
{
    private OutputLog _log = null!;
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IAsyncStream<OutputNotice>? _stream;
    private JobStatus? _status;
    private IChild? _child;
    private EndReason _endReason;
    private bool _starting;
    private IGrainTimer? _timeout;

    // The job runs on a live node other than this one: this activation cannot answer for it.
    private string? _elsewhere;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _stream = this.GetStreamProvider(JobStreams.ProviderName)
            .GetStream<OutputNotice>(StreamId.Create(JobStreams.OutputNamespace, this.GetPrimaryKeyString()));
        if (record.State.Status is { } recorded)
        {
            AnswerForRecord(recorded, record.State.Silo, record.State.Output);
        }

        _log ??= new OutputLog(JobFolder, options.Value.MaxOutputBytesPerJob, options.Value.HotWindowBytes, budget: budget);
        return Task.CompletedTask;
    }

    private string JobFolder => dataDirectory.JobFolder(this.GetPrimaryKeyString());

    // A running job's usage is read from its cgroup here, when asked: nothing polls it.
    public Task<JobStatus> GetStatusAsync()
    {
        var status = CurrentStatus();
        return Task.FromResult(status.State == JobState.Running && _child?.Usage() is { } usage ? status with { Usage = JobUsages.From(usage) } : status);
    }

    private JobStatus CurrentStatus()
    {
        if (_elsewhere is not null)
        {
            throw new NodeUnreachableException($"job {this.GetPrimaryKeyString()} runs on a node that does not answer for it now; try again");
        }

        if (_status is null)
        {
            // Not while a start is under way: the activation is about to hold a running job.
            if (!_starting)
            {
                DeactivateOnIdle();
            }

            throw new JobNotFoundException($"job {this.GetPrimaryKeyString()} not found");
        }

        // A lost job's counts are the ones recorded at its end; this activation holds none of its output.
        return _status.State == JobState.Lost ? _status : _status with
        {
            StdoutBytes = _log.StdoutBytes,
            StderrBytes = _log.StderrBytes,
            OutputLostBytes = _log.Removed ? _log.StdoutBytes + _log.StderrBytes : _log.LostBytes,
            OutputLostReason = _log.Removed ? OutputDropReason.Budget : _log.LostReason,
            OutputRemoved = _log.Removed,
        };
    }

    // Callers inside the cluster (tests, tools) may start jobs without an identity; they share one.
    private IOwnerGrain Owner(string identity) => GrainFactory.GetGrain<IOwnerGrain>(identity.Length == 0 ? "(no identity)" : identity);
}
