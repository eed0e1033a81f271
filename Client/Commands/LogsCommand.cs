using System.CommandLine;
using Grpc.Core;
using Jobs.Client.Connection;
using Jobs.Client.Following;
using Jobs.Protos;

namespace Jobs.Client.Commands;

/// <summary>
/// <c>jobs logs ID [--stdout] [--stderr]</c>: copies a job's output, byte for byte, to this
/// process's stdout and stderr, and follows it until the job has ended.
/// </summary>
internal sealed class LogsCommand : Command
{
    public static readonly Argument<string> IdArgument = new("id") { Description = "The job's id.", CompletionSources = { CompletionCommand.JobIds } };

    public static readonly Option<bool> StdoutOption = new("--stdout")
    {
        Description = "Only the job's stdout (with --stderr too: both, the default).",
    };

    public static readonly Option<bool> StderrOption = new("--stderr")
    {
        Description = "Only the job's stderr (with --stdout too: both, the default).",
    };

    public static readonly Option<long> StdoutOffsetOption = new("--stdout-offset")
    {
        Description = "Resume: start the job's stdout at this byte offset.",
        HelpName = "bytes",
    };

    public static readonly Option<long> StderrOffsetOption = new("--stderr-offset")
    {
        Description = "Resume: start the job's stderr at this byte offset.",
        HelpName = "bytes",
    };

    public static readonly Option<bool> FollowOption = new("--follow", "-f")
    {
        Description = "Follow the output until the job ends (the default); --follow=false prints what there is and returns.",
        Arity = ArgumentArity.ZeroOrOne,
        DefaultValueFactory = _ => true,
    };

    public static readonly Option<int?> TailOption = new("--tail")
    {
        Description = "Start with the last N lines of output so far (both streams, in order), then follow unless --follow=false.",
        HelpName = "lines",
        Validators = { result => { if (result.GetValueOrDefault<int?>() is < 0) { result.AddError("--tail takes a number of lines, 0 or more"); } } },
    };

    public static readonly Option<DateTimeOffset?> SinceOption = new("--since")
    {
        Description = "Only output written since then: a duration back from now (10m, 1h30m) or a time (2026-11-28T09:00:00Z).",
        HelpName = "duration|time",
        CustomParser = ParseSince,
    };

    public static readonly Option<bool> TimestampsOption = new("--timestamps", "-t")
    {
        Description = "Start each line with the time the server read it (RFC 3339, UTC).",
    };

    private readonly CliConsole _console;

    public LogsCommand(CliConsole console)
        : base("logs", "Print a job's output from the start and follow it until the job has ended.")
    {
        _console = console;
        Arguments.Add(IdArgument);
        Options.Add(StdoutOption);
        Options.Add(StderrOption);
        Options.Add(StdoutOffsetOption);
        Options.Add(StderrOffsetOption);
        Options.Add(FollowOption);
        Options.Add(TailOption);
        Options.Add(SinceOption);
        Options.Add(TimestampsOption);
        Options.Add(ReconnectOption.ReconnectFor);
        SetAction(ExecuteAsync);
    }

    private static DateTimeOffset? ParseSince(System.CommandLine.Parsing.ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (Durations.TryParse(text, out var back))
        {
            return DateTimeOffset.UtcNow - back;
        }

        if (DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var time))
        {
            return time;
        }

        result.AddError($"'{text}' is neither a duration (10m) nor a time (2026-11-28T09:00:00Z)");
        return null;
    }

    private async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var request = new LogsRequest
        {
            JobId = parseResult.GetRequiredValue(IdArgument),
            Stdout = parseResult.GetValue(StdoutOption),
            Stderr = parseResult.GetValue(StderrOption),
            StdoutOffset = parseResult.GetValue(StdoutOffsetOption),
            StderrOffset = parseResult.GetValue(StderrOffsetOption),
            NoFollow = !parseResult.GetValue(FollowOption),
            Since = parseResult.GetValue(SinceOption) is { } since ? Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(since) : null,
        };

        using var connection = JobsConnection.Open(ConnectionSettings.FromParseResult(parseResult));
        var writer = new JobOutputWriter(_console, parseResult.GetValue(GlobalOptions.Output), parseResult.GetValue(TimestampsOption));
        var follower = new JobFollower(connection.Client, _console, ReconnectOption.Get(parseResult));
        if (parseResult.GetValue(TailOption) is { } tail)
        {
            // What exists now, keeping only the last lines; then on from where that ended.
            var snapshot = request.Clone();
            snapshot.NoFollow = true;
            var buffer = new TailBuffer(tail);
            var ended = await follower.CopyAsync(writer, snapshot, cancellationToken, buffer.Add).ConfigureAwait(false);
            await writer.WriteChunksAsync(buffer.Finish(), cancellationToken).ConfigureAwait(false);
            if (request.NoFollow || ended is not null)
            {
                await writer.WriteEndAsync(ended, cancellationToken).ConfigureAwait(false);
                return writer.ReportIfLost(request.JobId, ended) ? ExitCodes.Lost : ExitCodes.Success;
            }

            request.StdoutOffset = buffer.Ends.GetValueOrDefault(OutputStream.Stdout, request.StdoutOffset);
            request.StderrOffset = buffer.Ends.GetValueOrDefault(OutputStream.Stderr, request.StderrOffset);
        }

        var end = request.NoFollow
            ? await follower.CopyAsync(writer, request, cancellationToken).ConfigureAwait(false)
            : await follower.FollowAsync(writer, request, cancellationToken).ConfigureAwait(false);

        // The output a follower got from a job whose node left is all there will ever be.
        return writer.ReportIfLost(request.JobId, end) ? ExitCodes.Lost : ExitCodes.Success;
    }
}
