using Jobs.Platform;
using Microsoft.Extensions.Logging;

namespace Jobs.Grains;

// Starting a job: its spec checked, a place on the node, its owner's admission, the spawn and its record.
public sealed partial class JobGrain
{
    public async Task<JobStatus> StartAsync(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (_status is not null || _starting || _elsewhere is not null)
        {
            throw new JobAlreadyExistsException($"job {this.GetPrimaryKeyString()} exists already");
        }

        JobLimits limits;
        Dictionary<string, string> environment;
        JobAccount account;
        try
        {
            // Before anything is spawned: a timer that cannot be armed must not fail a started job.
            if (spec.Timeout is { } limit && (limit <= TimeSpan.Zero || limit > TimerLimit.Longest))
            {
                throw new InvalidJobSpecException($"the timeout must be positive and at most {TimerLimit.Describe()}");
            }

            RequestIds.Check(spec.RequestId);
            if (spec.Terminal is { IsValid: false } size)
            {
                throw new InvalidJobSpecException($"a terminal size is 1-65535 rows and columns, not {size.Rows}x{size.Columns}");
            }

            limits = options.Value.Limits.Resolve(spec.Limits, launcher.DefaultMaxProcesses);
            environment = JobEnvironment.Compose(options.Value, spec.Environment, this.GetPrimaryKeyString());
            if (spec.Terminal is not null)
            {
                // What a terminal program reads to know how to draw: the client's, when it sent one.
                environment.TryAdd("TERM", DefaultTerm);
            }

            account = JobAccount.Choose(options.Value.Accounts, spec, accounts.CannotSwitch);
        }
        catch (Exception e) when (e is InvalidJobSpecException or AccountNotAllowedException or AccountUnavailableException)
        {
            DeactivateOnIdle();
            throw;
        }

        if (spec.Silo is { } chosen && chosen != cluster.LocalSilo)
        {
            // The placement hint was not followed: the chosen node left between the pick and the start.
            DeactivateOnIdle();
            throw new NodeUnavailableException($"the node chosen for the job is gone; run it again");
        }

        if (!node.TryAdd(this.GetPrimaryKeyString()))
        {
            DeactivateOnIdle();
            throw new NodeUnavailableException(node.AcceptsJobs
                ? $"node '{cluster.LocalNode}' drains and takes no new jobs"
                : $"node '{cluster.LocalNode}' takes no jobs (Orleans:AcceptJobs=false)");
        }

        _starting = true;
        var owner = Owner(spec.Owner);
        int cap = options.Value.MaxRunningJobsPerOwner;
        bool admitted;
        try
        {
            admitted = await owner.AdmitAsync(this.GetPrimaryKeyString(), cap, cluster.LocalSilo, spec.RequestId);
        }
        catch (Exception) when (Unstarted())
        {
            throw;
        }

        if (!admitted)
        {
            Unstarted();
            throw new JobQuotaExceededException(
                $"'{spec.Owner}' already runs {cap} jobs, the most one identity may run at once; wait for one to end or kill one");
        }

        ChildAccount? childAccount = null;
        try
        {
            childAccount = await ResolveAsync(account, spec.Owner);
            var childLimits = new ChildLimits(
                limits.MaxProcesses,
                limits.CpuCores,
                limits.MemoryBytes,
                [.. limits.IoRead.Select(r => new DeviceRate(r.Device, r.BytesPerSecond))],
                [.. limits.IoWrite.Select(r => new DeviceRate(r.Device, r.BytesPerSecond))]);
            _child = await launcher.StartAsync(
                new ChildSpec(
                    spec.Command, spec.Args, spec.WorkingDirectory, environment, childLimits.None ? null : childLimits, spec.Isolate,
                    Stdin: spec.Stdin || spec.Terminal is not null,
                    Terminal: spec.Terminal is { } terminal ? new TerminalSize(terminal.Rows, terminal.Columns) : null,
                    Account: childAccount),
                CancellationToken.None);
        }
        catch (Exception e)
        {
            Unstarted();

            // Awaited, so that a retry with the same request id, once this failure is answered, may start.
            await ForgetNowAsync(owner);
            switch (e)
            {
                case ChildStartException { NodeFull: true }:
                    throw new NodeFullException(e.Message);
                case ChildStartException:
                    throw new JobStartFailedException(e.Message);
                case LimitUnavailableException:
                    throw new JobLimitUnavailableException(e.Message);
                case ArgumentException:
                    throw new InvalidJobSpecException(e.Message);
                default:
                    throw;
            }
        }

        // A running child is not activity Orleans can see: keep the activation until the job ends.
        DelayDeactivation(TimeSpan.MaxValue);
        _status = new JobStatus(this.GetPrimaryKeyString(), JobState.Running, spec.Command, spec.Args, _child.Pid, DateTimeOffset.UtcNow)
        {
            Limits = limits.None ? null : limits,
            Isolated = spec.Isolate,
            Stdin = spec.Stdin || spec.Terminal is not null,
            Terminal = spec.Terminal is not null,
            Owner = spec.Owner,
            Node = cluster.LocalNode,
            User = childAccount?.Name ?? accounts.Server.Name,
            Uid = childAccount?.Uid ?? accounts.Server.Uid,
        };
        logger.LogInformation("Job {JobId} started pid {Pid} as {User}: {Command}", _status.JobId, _child.Pid, _status.User, spec.Command);
        JobMetrics.JobStarted();
        _ = RecordAsync(_child);
        if (spec.Timeout is { } timeout)
        {
            _timeout = this.RegisterGrainTimer(TimeOutAsync, new GrainTimerCreationOptions(timeout, Timeout.InfiniteTimeSpan) { Interleave = true });
        }

        // What other nodes need to answer for the job once this one is gone. A job the store
        // cannot record is not left running unrecorded.
        try
        {
            await WriteRecordAsync(_status);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Job {JobId}: the cluster store cannot record it; killing it", _status.JobId);
            await StopAsync(EndReason.KilledByRequest, TimeSpan.Zero, KillAnswerWithin);
            throw new JobStartFailedException("the cluster store cannot record the job; it was not started");
        }

        return _status;
    }

    // The account of the node's user database (or of the owner's own uid) that the job runs as; null: the server's.
    private async Task<ChildAccount?> ResolveAsync(JobAccount account, string owner)
    {
        try
        {
            var found = account switch
            {
                JobAccount.Named named => await accounts.FindAsync(named.Account),
                JobAccount.Dynamic => await accounts.DynamicAsync(await uids.UidOfAsync(owner)),
                _ => null,
            };

            // Root where the configuration says so is the server's own root, capabilities and all, as before accounts.
            return found is { Uid: 0, Gid: 0 } ? null : found;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw new AccountUnavailableException($"cannot run the job as {Describe(account, owner)} on node '{cluster.LocalNode}': {e.Message}");
        }
    }

    private static string Describe(JobAccount account, string owner) => account is JobAccount.Named named ? $"'{named.Account}'" : $"the uid of '{owner}'";

    // Terminals that can draw colours and move the cursor as most terminal programs expect.
    private const string DefaultTerm = "xterm-256color";

    // Used as an exception filter, so always false: a start that did not happen frees its place on the node.
    private bool Unstarted()
    {
        _starting = false;
        node.Remove(this.GetPrimaryKeyString());
        DeactivateOnIdle();
        return false;
    }
}
