using System.CommandLine;
using Jobs.Client.Connection;
using Jobs.Protos;

namespace Jobs.Client.Commands;

/// <summary><c>jobs kill ID</c>: kills a job's process tree and prints its final status line.</summary>
internal sealed class KillCommand : Command
{
    public static readonly Argument<string> IdArgument = new("id") { Description = "The job's id.", CompletionSources = { CompletionCommand.JobIds } };

    public static readonly Option<TimeSpan?> GraceOption = new("--grace")
    {
        Description = "How long to wait after SIGTERM before SIGKILL [default: the server's, 5s].",
        HelpName = "duration",
        CustomParser = Durations.Parse,
    };

    public static readonly Option<string?> SignalOption = new("--signal", "-s")
    {
        Description = "Send only this signal (e.g. HUP, SIGUSR1, 15) and print the job's status; no SIGKILL follows.",
        HelpName = "name",
    };

    /// <summary>How much longer than the grace a kill may take to answer: the SIGKILL, the reap, a loaded server.</summary>
    public static readonly TimeSpan KillMargin = TimeSpan.FromMinutes(1);

    private readonly CliConsole _console;

    public KillCommand(CliConsole console)
        : base("kill", "Stop a job's whole process tree (SIGTERM, a grace period, SIGKILL) and print its final status. Killing a finished job is not an error.")
    {
        _console = console;
        Arguments.Add(IdArgument);
        Options.Add(GraceOption);
        Options.Add(SignalOption);
        SetAction(ExecuteAsync);
    }

    private async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var request = new KillRequest
        {
            JobId = parseResult.GetRequiredValue(IdArgument),
            Signal = parseResult.GetValue(SignalOption) ?? string.Empty,
        };
        // The server answers once the job is gone, the grace and the SIGKILL after it included: the
        // call may take the whole grace, and gets a margin on top for the SIGKILL and the answer.
        DateTime? deadline = null;
        if (parseResult.GetValue(GraceOption) is { } grace)
        {
            request.Grace = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(grace);
            deadline = DateTime.UtcNow + grace + KillMargin;
        }

        using var connection = JobsConnection.Open(ConnectionSettings.FromParseResult(parseResult));
        var response = await connection.Client.KillAsync(request, deadline: deadline, cancellationToken: cancellationToken).ConfigureAwait(false);

        var status = response.Status
            ?? throw new CliException(ExitCodes.Failure, $"the server sent no status for job {request.JobId}");
        await StatusFormatter.WriteAsync(_console, parseResult, status, cancellationToken).ConfigureAwait(false);
        return ExitCodes.Success;
    }
}
