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
// its record in the cluster store in JobGrain.Record.cs.
[Reentrant]
[PreferLocalPlacement]
[Immovable]
public sealed partial class JobGrain(
    IChildLauncher launcher,
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

    public Task<JobStatus> GetStatusAsync() => Task.FromResult(CurrentStatus());

    public async Task<bool> ForgetAsync()
    {
        if (_elsewhere is not null)
        {
            CurrentStatus();
        }

        if (_status is null)
        {
            // Forgotten already (or never started): nothing to delete.
            DeactivateOnIdle();
            return true;
        }

        if (!_status.Ended)
        {
            return false;
        }

        Forget(Owner(_status.Owner));
        _status = null;
        _log.Dispose();
        DeactivateOnIdle();
        await ClearRecordAsync();
        return true;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_child is not null && _status is { Ended: false })
        {
            // Deactivated anyway (silo shutdown, or a failure): never leave the process behind.
            logger.LogWarning("Job {JobId} deactivated while running ({Reason}); killing it", _status.JobId, reason);
            try
            {
                await _child.KillAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                logger.LogError("Job {JobId}: kill did not finish before deactivation timed out", _status.JobId);
            }
        }

        // A finished job whose end is recorded leaves memory alone: its record and spool stay, and
        // the next call answers from them; it is forgotten by name, the cap or its retention (the
        // registry's). Any other output is not durable: it goes with the activation, and the job
        // from its owner's list; but a node that leaves the cluster leaves its jobs' records, so
        // that they are answered for as LOST.
        bool leaving = reason.ReasonCode == DeactivationReasonCode.ShuttingDown;
        if (_status is { Ended: true } && _status.State != JobState.Lost && record.State.Output is not null && !leaving)
        {
            // Its log was sealed at the job's end (or reopened sealed): no file is open to close.
            return;
        }

        if (_status is not null && _status.State != JobState.Lost && !leaving)
        {
            Forget(Owner(_status.Owner));
            await ClearRecordAsync();
        }

        _log.Dispose();
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

    private async Task ForgetNowAsync(IOwnerGrain owner)
    {
        try
        {
            await owner.ForgetAsync(this.GetPrimaryKeyString());
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Job {JobId}: could not remove it from its owner's jobs", this.GetPrimaryKeyString());
        }
    }

    // Callers inside the cluster (tests, tools) may start jobs without an identity; they share one.
    private IOwnerGrain Owner(string identity) => GrainFactory.GetGrain<IOwnerGrain>(identity.Length == 0 ? "(no identity)" : identity);

    // Never fails (the job must not count or be listed forever); used as an exception filter, so always false.
    private bool Forget(IOwnerGrain owner)
    {
        owner.ForgetAsync(this.GetPrimaryKeyString()).ContinueWith(
            t => logger.LogWarning(t.Exception, "Job {JobId}: could not remove it from its owner's jobs", this.GetPrimaryKeyString()),
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted,
            TaskScheduler.Current);
        return false;
    }
}
