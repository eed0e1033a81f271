using System.CommandLine;
using System.Globalization;
using Jobs.Client.Connection;
using Jobs.Protos;

namespace Jobs.Client.Commands;

/// <summary><c>jobs ps [ID]</c>: one job's status, or the caller's jobs as a table, newest first.</summary>
internal sealed class PsCommand : Command
{
    public static readonly Argument<string?> IdArgument = new("id")
    {
        Description = "The job's id; without it, list your jobs.",
        Arity = ArgumentArity.ZeroOrOne,
        CompletionSources = { CompletionCommand.JobIds },
        // An optional argument would take a mistyped option as the id.
        Validators = { result => { if (result.Tokens is [{ Value: ['-', ..] value }]) { result.AddError($"unknown option '{value}'"); } } },
    };

    public static readonly Option<bool> AllOption = new("--all", "-a")
    {
        Description = "List every identity's jobs (admins only).",
    };

    private readonly CliConsole _console;

    public PsCommand(CliConsole console)
        : base("ps", "Print a job's status ('Running pid=N node=NAME user=ACCOUNT', 'Exited code=N', 'Killed signal=NAME', 'Lost node=NAME' when its node left the cluster), or without an id a table of your jobs, newest first.")
    {
        _console = console;
        Arguments.Add(IdArgument);
        Options.Add(AllOption);
        SetAction(ExecuteAsync);
    }

    private async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        bool json = parseResult.GetValue(GlobalOptions.Output) == OutputFormat.Json;
        string? id = parseResult.GetValue(IdArgument);
        using var connection = JobsConnection.Open(ConnectionSettings.FromParseResult(parseResult));
        if (id is null)
        {
            var list = await connection.Client.ListAsync(new ListRequest { All = parseResult.GetValue(AllOption) }, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (json)
            {
                await _console.WriteJsonAsync(list, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                foreach (string line in Table(list.Jobs, parseResult.GetValue(AllOption), DateTimeOffset.UtcNow))
                {
                    await _console.WriteLineAsync(line, cancellationToken).ConfigureAwait(false);
                }
            }

            return ExitCodes.Success;
        }

        if (parseResult.GetValue(AllOption))
        {
            throw new CliException(ExitCodes.Usage, "--all lists jobs; it does not go with an id");
        }

        var response = await connection.Client.PsAsync(new PsRequest { JobId = id }, cancellationToken: cancellationToken).ConfigureAwait(false);
        var status = response.Status
            ?? throw new CliException(ExitCodes.Failure, $"the server sent no status for job {id}");
        if (json)
        {
            await _console.WriteJsonAsync(status, cancellationToken).ConfigureAwait(false);
            return ExitCodes.Success;
        }

        await _console.WriteLineAsync(StatusFormatter.Format(status), cancellationToken).ConfigureAwait(false);
        if (StatusFormatter.FormatLimits(status) is { } limits)
        {
            await _console.WriteLineAsync(limits, cancellationToken).ConfigureAwait(false);
        }

        return ExitCodes.Success;
    }

    /// <summary>An aligned table: id, state, exit, node, user, started, duration, command (and owner with --all).</summary>
    internal static IEnumerable<string> Table(IEnumerable<JobStatus> jobs, bool withOwner, DateTimeOffset now)
    {
        string[] header = withOwner
            ? ["ID", "OWNER", "STATE", "EXIT", "NODE", "USER", "STARTED", "DURATION", "COMMAND"]
            : ["ID", "STATE", "EXIT", "NODE", "USER", "STARTED", "DURATION", "COMMAND"];
        var rows = new List<string[]> { header };
        foreach (var job in jobs)
        {
            var started = job.StartedAt?.ToDateTimeOffset() ?? now;
            var ended = job.EndedAt?.ToDateTimeOffset() ?? now;
            rows.Add(
            [
                job.JobId,
                .. withOwner ? [job.Owner] : Array.Empty<string>(),
                job.State switch { JobState.Running => "Running", JobState.Exited => "Exited", JobState.Killed => "Killed", JobState.Lost => "Lost", _ => "Unknown" },
                Exit(job),
                job.Node.Length > 0 ? job.Node : "-",
                job.User.Length > 0 ? job.User : "-",
                started.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                Durations.Format(ended - started),
                string.Join(' ', [job.Command, .. job.Args]),
            ]);
        }

        return TextTable.Format(rows);
    }

    // A lost job shows what it had ended with, if it had (a zero code cannot be told from none).
    private static string Exit(JobStatus job) => job switch
    {
        { State: JobState.Exited } => job.ExitCode.ToString(CultureInfo.InvariantCulture),
        { State: JobState.Killed or JobState.Lost, SignalName.Length: > 0 } => job.SignalName,
        { State: JobState.Killed, Signal: 0 } => "killed",
        { State: JobState.Killed } or { State: JobState.Lost, Signal: not 0 } => job.Signal.ToString(CultureInfo.InvariantCulture),
        { State: JobState.Lost, ExitCode: not 0 } or { State: JobState.Lost, EndedAt: not null } => job.ExitCode.ToString(CultureInfo.InvariantCulture),
        _ => "-",
    };
}
