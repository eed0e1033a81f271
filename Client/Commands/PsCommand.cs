using System.CommandLine;
using Jobs.Client.Connection;
using Jobs.Protos;

namespace Jobs.Client.Commands;

/// <summary><c>jobs ps ID</c>: prints a job's status line.</summary>
internal sealed class PsCommand : Command
{
    public static readonly Argument<string> IdArgument = new("id") { Description = "The job's id." };

    private readonly CliConsole _console;

    public PsCommand(CliConsole console)
        : base("ps", "Print a job's status: 'Running pid=N', 'Exited code=N' or 'Killed signal=N'.")
    {
        _console = console;
        Arguments.Add(IdArgument);
        SetAction(ExecuteAsync);
    }

    private async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var request = new PsRequest { JobId = parseResult.GetRequiredValue(IdArgument) };

        using var connection = JobsConnection.Open(ConnectionSettings.FromParseResult(parseResult));
        var response = await connection.Client.PsAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false);

        var status = response.Status
            ?? throw new CliException(ExitCodes.Failure, $"the server sent no status for job {request.JobId}");
        await _console.WriteLineAsync(StatusFormatter.Format(status), cancellationToken).ConfigureAwait(false);
        if (StatusFormatter.FormatLimits(status) is { } limits)
        {
            await _console.WriteLineAsync(limits, cancellationToken).ConfigureAwait(false);
        }

        return ExitCodes.Success;
    }
}
