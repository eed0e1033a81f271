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

    public static readonly Option<bool> WatchOption = new("--watch", "-w")
    {
        Description = "Draw the table (or the job's status) again every second, in place, until Ctrl+C; like 'docker stats'.",
    };

    private static readonly TimeSpan WatchPeriod = TimeSpan.FromSeconds(1);

    private readonly CliConsole _console;

    public PsCommand(CliConsole console)
        : base("ps", "Print a job's status ('Running pid=N node=NAME user=ACCOUNT', 'Exited code=N', 'Killed signal=NAME', 'Lost node=NAME' when its node left the cluster), or without an id a table of your jobs, newest first.")
    {
        _console = console;
        Arguments.Add(IdArgument);
        Options.Add(AllOption);
        Options.Add(WatchOption);
        SetAction(ExecuteAsync);
    }

    private async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        bool json = parseResult.GetValue(GlobalOptions.Output) == OutputFormat.Json;
        string? id = parseResult.GetValue(IdArgument);
        bool all = parseResult.GetValue(AllOption);
        if (id is not null && all)
        {
            throw new CliException(ExitCodes.Usage, "--all lists jobs; it does not go with an id");
        }

        bool watch = parseResult.GetValue(WatchOption);
        if (watch && json)
        {
            throw new CliException(ExitCodes.Usage, "--watch draws text for people; it does not go with --output json");
        }

        using var connection = JobsConnection.Open(ConnectionSettings.FromParseResult(parseResult));
        if (json)
        {
            await _console.WriteJsonAsync(id is null ? await ListAsync(connection, all, cancellationToken).ConfigureAwait(false) : await StatusAsync(connection, id, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            return ExitCodes.Success;
        }

        async Task<IReadOnlyList<string>> Lines(CancellationToken token) => id is null
            ? [.. Table((await ListAsync(connection, all, token).ConfigureAwait(false)).Jobs, all, DateTimeOffset.UtcNow)]
            : Describe(await StatusAsync(connection, id, token).ConfigureAwait(false));

        if (watch)
        {
            return await WatchAsync(Lines, parseResult, cancellationToken).ConfigureAwait(false);
        }

        foreach (string line in await Lines(cancellationToken).ConfigureAwait(false))
        {
            await _console.WriteLineAsync(line, cancellationToken).ConfigureAwait(false);
        }

        return ExitCodes.Success;
    }

    private static Task<ListResponse> ListAsync(JobsConnection connection, bool all, CancellationToken cancellationToken) =>
        connection.Client.ListAsync(new ListRequest { All = all }, cancellationToken: cancellationToken).ResponseAsync;

    private static async Task<JobStatus> StatusAsync(JobsConnection connection, string id, CancellationToken cancellationToken)
    {
        var response = await connection.Client.PsAsync(new PsRequest { JobId = id }, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.Status ?? throw new CliException(ExitCodes.Failure, $"the server sent no status for job {id}");
    }

    /// <summary>One job for people: its status line, then its limits and its usage when it has them.</summary>
    internal static IReadOnlyList<string> Describe(JobStatus status) =>
        [StatusFormatter.Format(status), .. new[] { StatusFormatter.FormatLimits(status), StatusFormatter.FormatUsage(status) }.OfType<string>()];

    // Draws the lines again every second until Ctrl+C: on a terminal in place, on its alternate
    // screen (so that what was there before comes back at the end), without a cursor; elsewhere one
    // block after another, each ending with an empty line.
    private async Task<int> WatchAsync(Func<CancellationToken, Task<IReadOnlyList<string>>> lines, ParseResult parseResult, CancellationToken cancellationToken)
    {
        bool terminal = !Console.IsOutputRedirected;
        string title = "Every 1s: jobs " + string.Join(' ', parseResult.Tokens.Select(t => t.Value));
        if (terminal)
        {
            await _console.WriteOutputAsync("\e[?1049h\e[?25l\e[H\e[2J"u8.ToArray(), CancellationToken.None).ConfigureAwait(false);
        }

        try
        {
            while (true)
            {
                var frame = new List<string> { $"{title}    {DateTimeOffset.Now:yyyy-MM-dd HH:mm:ss}", string.Empty };
                frame.AddRange(await lines(cancellationToken).ConfigureAwait(false));
                await DrawAsync(frame, terminal, cancellationToken).ConfigureAwait(false);
                await Task.Delay(WatchPeriod, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is OperationCanceledException or Grpc.Core.RpcException { StatusCode: Grpc.Core.StatusCode.Cancelled })
        {
            // Ctrl+C: the way a watch ends.
            return ExitCodes.Success;
        }
        finally
        {
            if (terminal)
            {
                await _console.WriteOutputAsync("\e[?25h\e[?1049l"u8.ToArray(), CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private async Task DrawAsync(List<string> frame, bool terminal, CancellationToken cancellationToken)
    {
        if (!terminal)
        {
            foreach (string line in frame.Skip(2).Append(string.Empty))
            {
                await _console.WriteLineAsync(line, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        // Cut to the window, so that nothing wraps or scrolls and every frame starts at the top.
        int width = Math.Max(10, SafeSize(() => Console.WindowWidth, 80));
        int height = Math.Max(3, SafeSize(() => Console.WindowHeight, 24));
        var text = new System.Text.StringBuilder("\e[H");
        foreach (string line in frame.Take(height - 1))
        {
            string escaped = TerminalText.Escape(line);
            text.Append(escaped.Length > width ? escaped[..width] : escaped).Append("\e[K\n");
        }

        text.Append("\e[J");
        await _console.WriteOutputAsync(System.Text.Encoding.UTF8.GetBytes(text.ToString()), cancellationToken).ConfigureAwait(false);
    }

    private static int SafeSize(Func<int> read, int fallback)
    {
        try
        {
            int size = read();
            return size > 0 ? size : fallback;
        }
        catch (IOException)
        {
            return fallback;
        }
    }

    /// <summary>
    /// An aligned table: id, state, exit, node, user, CPU time, memory now (running jobs), started,
    /// duration, command (and owner with --all).
    /// </summary>
    internal static IEnumerable<string> Table(IEnumerable<JobStatus> jobs, bool withOwner, DateTimeOffset now)
    {
        string[] header = withOwner
            ? ["ID", "OWNER", "STATE", "EXIT", "NODE", "USER", "CPU", "MEMORY", "STARTED", "DURATION", "COMMAND"]
            : ["ID", "STATE", "EXIT", "NODE", "USER", "CPU", "MEMORY", "STARTED", "DURATION", "COMMAND"];
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
                job.Usage?.CpuTime is { } cpu ? StatusFormatter.CpuTime(cpu.ToTimeSpan()) : "-",
                job.Usage is { HasMemoryBytes: true } usage ? Jobs.Platform.ByteSize.FormatCompact(usage.MemoryBytes) : "-",
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
