using System.CommandLine;
using Jobs.Client.Connection;
using Jobs.Protos;

namespace Jobs.Client.Commands;

/// <summary><c>jobs rm ID</c>: forgets a finished job and deletes its output.</summary>
internal sealed class RemoveCommand : Command
{
    public static readonly Argument<string> IdArgument = new("id") { Description = "The job's id.", CompletionSources = { CompletionCommand.JobIds } };

    private readonly CliConsole _console;

    public RemoveCommand(CliConsole console)
        : base("rm", "Forget a finished job and delete its output; prints its final status. A running job is refused: kill it first.")
    {
        _console = console;
        Arguments.Add(IdArgument);
        SetAction(ExecuteAsync);
    }

    private async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var request = new RemoveRequest { JobId = parseResult.GetRequiredValue(IdArgument) };
        using var connection = JobsConnection.Open(ConnectionSettings.FromParseResult(parseResult));
        var response = await connection.Client.RemoveAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false);
        await StatusFormatter.WriteAsync(_console, parseResult, response.Status, cancellationToken).ConfigureAwait(false);
        return ExitCodes.Success;
    }
}
