using System.CommandLine;
using Jobs.Client.Connection;
using Jobs.Client.Following;

namespace Jobs.Client.Commands;

/// <summary><c>jobs wait ID</c>: blocks until the job ends and exits with its exit code.</summary>
internal sealed class WaitCommand : Command
{
    public static readonly Argument<string> IdArgument = new("id") { Description = "The job's id.", CompletionSources = { CompletionCommand.JobIds } };

    private readonly CliConsole _console;

    public WaitCommand(CliConsole console)
        : base("wait", "Wait for a job to end; exit with its exit code (128 + the signal number when it was killed; 6 when its node left the cluster).")
    {
        _console = console;
        Arguments.Add(IdArgument);
        Options.Add(ReconnectOption.ReconnectFor);
        SetAction(ExecuteAsync);
    }

    private async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        string id = parseResult.GetRequiredValue(IdArgument);
        using var connection = JobsConnection.Open(ConnectionSettings.FromParseResult(parseResult));
        var writer = new JobOutputWriter(_console);
        var end = await new JobFollower(connection.Client, _console, ReconnectOption.Get(parseResult)).WaitAsync(id, cancellationToken).ConfigureAwait(false);
        if (parseResult.GetValue(GlobalOptions.Output) == OutputFormat.Json)
        {
            await _console.WriteJsonAsync(end, cancellationToken).ConfigureAwait(false);
        }

        writer.ReportIfLost(id, end);
        return JobOutputWriter.ExitCodeOf(end);
    }
}
