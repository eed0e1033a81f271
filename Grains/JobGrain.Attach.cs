using Jobs.Platform;

namespace Jobs.Grains;

// Attaches: the job's stdin and terminal, held by one attach at a time, and the wait for output
// that an attach's live path uses.
public sealed partial class JobGrain
{
    // One hand-over of input waits this long for the job to make room, then answers Full: well
    // inside the call's response timeout, however long the job leaves its stdin unread.
    private static readonly TimeSpan InputWait = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan LongestOutputWait = TimeSpan.FromSeconds(10);

    // The attach that writes the job's stdin: the latest that asked for it.
    private string? _inputHolder;

    // Completed (and replaced) whenever output is recorded or the job ends.
    private TaskCompletionSource? _outputArrived;

    public async Task<OutputSlice> WaitOutputAsync(long position, int maxBytes, TimeSpan wait)
    {
        var status = CurrentStatus();
        if (!status.Ended && position >= _log.End && wait > TimeSpan.Zero)
        {
            _outputArrived ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await Task.WhenAny(_outputArrived.Task, Task.Delay(wait < LongestOutputWait ? wait : LongestOutputWait));
        }

        return await ReadOutputAsync(position, maxBytes);
    }

    private void WakeOutputWaiters()
    {
        var waiting = _outputArrived;
        _outputArrived = null;
        waiting?.TrySetResult();
    }

    public Task<AttachResult> AttachAsync(string session, bool input)
    {
        ArgumentException.ThrowIfNullOrEmpty(session);
        var status = CurrentStatus();
        bool holds = false;
        if (input)
        {
            if (!status.Stdin)
            {
                throw new JobHasNoStdinException(
                    $"job {status.JobId} was started without stdin: only 'jobs run -i' (or -t) jobs take input; attach with --no-stdin to watch it");
            }

            // A closed stdin (end of input sent, or the job ended) has nothing left to hold.
            if (_child?.Input is { IsClosed: false })
            {
                _inputHolder = session;
                holds = true;
            }
        }

        return Task.FromResult(new AttachResult(status, holds, _log.End));
    }

    public async Task<InputResult> WriteInputAsync(string session, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (Stdin(session) is not { } stdin)
        {
            return Refusal(session);
        }

        if (stdin.TryWrite(data))
        {
            return InputResult.Accepted;
        }

        using var wait = new CancellationTokenSource(InputWait);
        try
        {
            while (await stdin.WaitToWriteAsync(wait.Token))
            {
                if (_inputHolder != session)
                {
                    return InputResult.NotHolder;
                }

                if (stdin.TryWrite(data))
                {
                    return InputResult.Accepted;
                }
            }

            return InputResult.Closed;
        }
        catch (OperationCanceledException)
        {
            // Nothing was taken: the caller hands the same bytes over again.
            return InputResult.Full;
        }
    }

    public Task<InputResult> EndInputAsync(string session)
    {
        if (Stdin(session) is not { } stdin)
        {
            return Task.FromResult(Refusal(session));
        }

        return Task.FromResult(stdin.Complete() ? InputResult.Accepted : InputResult.Closed);
    }

    public Task<InputResult> ResizeAsync(string session, JobTerminal size)
    {
        ArgumentNullException.ThrowIfNull(size);
        if (!size.IsValid)
        {
            throw new InvalidRequestException($"a terminal size is 1-65535 rows and columns, not {size.Rows}x{size.Columns}");
        }

        if (Stdin(session) is not { } stdin)
        {
            return Task.FromResult(Refusal(session));
        }

        return Task.FromResult(stdin.Resize(new TerminalSize(size.Rows, size.Columns)) ? InputResult.Accepted : InputResult.Closed);
    }

    public Task DetachAsync(string session)
    {
        if (_inputHolder == session)
        {
            _inputHolder = null;
        }

        return Task.CompletedTask;
    }

    // The job's open stdin when this attach holds it; null otherwise (see Refusal for why).
    private IChildInput? Stdin(string session) =>
        _inputHolder == session && _child?.Input is { IsClosed: false } stdin ? stdin : null;

    private InputResult Refusal(string session) =>
        _child?.Input is not { IsClosed: false } ? InputResult.Closed
        : _inputHolder != session ? InputResult.NotHolder
        : InputResult.Closed;
}
