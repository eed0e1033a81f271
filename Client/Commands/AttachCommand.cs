using System.CommandLine;
using Grpc.Core;
using Jobs.Client.Connection;
using Jobs.Client.Interactive;
using Jobs.Protos;

namespace Jobs.Client.Commands;

/// <summary>
/// <c>jobs attach ID</c>: joins a running job's output and, for a job started with <c>-i</c> or
/// <c>-t</c>, its stdin and terminal, until the job ends or the detach keys are typed.
/// </summary>
internal sealed class AttachCommand : Command
{
    public static readonly Argument<string> IdArgument = new("id") { Description = "The job's id.", CompletionSources = { CompletionCommand.JobIds } };

    public static readonly Option<bool> ReplayOption = new("--replay")
    {
        Description = "Show the job's output from its first byte, not only what it writes from now on.",
    };

    public static readonly Option<bool> NoStdinOption = new("--no-stdin")
    {
        Description = "Only watch: do not write the job's stdin (another attach may then type, and this one sees it).",
    };

    private readonly CliConsole _console;

    public AttachCommand(CliConsole console)
        : base("attach", "Join a running job's output and, if it was started with -i or -t, its stdin and terminal; the detach keys (ctrl-p,ctrl-q) leave it running. Exits with the job's exit code when it ends.")
    {
        _console = console;
        Arguments.Add(IdArgument);
        Options.Add(ReplayOption);
        Options.Add(NoStdinOption);
        Options.Add(DetachKeysOption.DetachKeys);
        SetAction(ExecuteAsync);
    }

    private async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        string id = parseResult.GetRequiredValue(IdArgument);
        var detachKeys = DetachKeysOption.Get(parseResult);
        using var connection = JobsConnection.Open(ConnectionSettings.FromParseResult(parseResult));

        // Asking for the stdin of a job that has none is refused: what the job has decides what to ask.
        var status = (await connection.Client.PsAsync(new PsRequest { JobId = id }, cancellationToken: cancellationToken).ConfigureAwait(false)).Status;
        bool stdin = !parseResult.GetValue(NoStdinOption) && status.Stdin && status.State == JobState.Running;
        using var terminal = stdin && status.Terminal ? LocalTerminal.Open() : null;
        terminal?.EnterRawMode();
        try
        {
            var start = new AttachStart { JobId = id, Stdin = stdin, Replay = parseResult.GetValue(ReplayOption) };
            return await Attacher.AttachAsync(_console, connection.Client, start, terminal, detachKeys, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is OperationCanceledException or RpcException)
        {
            // Ctrl+C where the terminal is not raw: a detach, as for run --follow.
            terminal?.Restore();
            throw new CliException(ExitCodes.Cancelled, Attacher.DetachedMessage(id)["jobs: ".Length..]);
        }
    }
}
