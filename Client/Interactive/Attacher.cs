using Jobs.Protos;

namespace Jobs.Client.Interactive;

/// <summary>What <c>jobs attach</c> and <c>jobs run -i/-t</c> share: one attach, its end, and the exit code.</summary>
internal static class Attacher
{
    /// <summary>The stderr line of a detach, also after Ctrl+C without a terminal.</summary>
    public static string DetachedMessage(string jobId) =>
        $"jobs: detached from job {jobId}; it keeps running ('jobs attach {jobId}' joins it again)";

    /// <summary>
    /// Attaches as <paramref name="start"/> says until the job ends (its exit code: its own, 128 +
    /// signal, or <see cref="ExitCodes.Lost"/>) or this side detaches (0, after saying so on stderr).
    /// </summary>
    /// <param name="terminal">The local terminal, in raw mode, when the person types to the job's terminal; restored before anything is said on stderr.</param>
    public static async Task<int> AttachAsync(CliConsole console, Protos.Jobs.JobsClient client, AttachStart start, LocalTerminal? terminal, byte[] detachKeys, CancellationToken cancellationToken)
    {
        var output = terminal is null ? AttachOutput.ForConsole(console) : AttachOutput.ForTerminal(terminal);
        AttachOutcome outcome;
        try
        {
            outcome = await new AttachSession(client, start, output, terminal, detachKeys).RunAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            terminal?.Restore();
        }

        if (outcome.End is not { } end)
        {
            if (terminal is not null)
            {
                // The job's screen leaves the cursor anywhere, often after a prompt: the message starts a line of its own.
                console.WriteErrorLine(string.Empty);
            }

            console.WriteErrorLine(DetachedMessage(start.JobId));
            return ExitCodes.Success;
        }

        new JobOutputWriter(console).ReportIfLost(start.JobId, end);
        return JobOutputWriter.ExitCodeOf(end);
    }
}
