using System.CommandLine;
using Jobs.Client.Connection;
using Jobs.Protos;

namespace Jobs.Client.Commands;

/// <summary><c>jobs kill ID</c>: kills a job's process tree and prints its final status line.</summary>
internal sealed class KillCommand : Command
{
    public static readonly Argument<string> IdArgument = new("id") { Description = "The job's id." };

    private readonly CliConsole _console;

    public KillCommand(CliConsole console)
        : base("kill", "Kill a job's whole process tree and print its final status. Killing a finished job is not an error.")
    {
        _console = console;
        Arguments.Add(IdArgument);
        SetAction(ExecuteAsync);
    }

    private async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var request = new KillRequest { JobId = parseResult.GetRequiredValue(IdArgument) };

        using var connection = JobsConnection.Open(ConnectionSettings.FromParseResult(parseResult));
        var response = await connection.Client.KillAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false);

        var status = response.Status
            ?? throw new CliException(ExitCodes.Failure, $"the server sent no status for job {request.JobId}");
        await _console.WriteLineAsync(StatusFormatter.Format(status), cancellationToken).ConfigureAwait(false);
        return ExitCodes.Success;
    }
}
