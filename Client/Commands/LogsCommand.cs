using System.CommandLine;
using Grpc.Core;
using Jobs.Client.Connection;
using Jobs.Protos;

namespace Jobs.Client.Commands;

/// <summary>
/// <c>jobs logs ID [--stdout] [--stderr]</c>: copies a job's output, byte for byte, to this
/// process's stdout and stderr, and follows it until the job has ended.
/// </summary>
internal sealed class LogsCommand : Command
{
    public static readonly Argument<string> IdArgument = new("id") { Description = "The job's id." };

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
        SetAction(ExecuteAsync);
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
        };

        using var connection = JobsConnection.Open(ConnectionSettings.FromParseResult(parseResult));
        using var call = connection.Client.Logs(request, cancellationToken: cancellationToken);

        await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            switch (response.ItemCase)
            {
                case LogsResponse.ItemOneofCase.Chunk:
                    await WriteChunkAsync(response.Chunk, cancellationToken).ConfigureAwait(false);
                    break;
                case LogsResponse.ItemOneofCase.Dropped:
                    _console.WriteErrorLine(
                        $"jobs: older output was dropped by the server's per-job cap; continuing from stdout offset {response.Dropped.StdoutOffset}, stderr offset {response.Dropped.StderrOffset}");
                    break;
                case LogsResponse.ItemOneofCase.End:
                    return ExitCodes.Success;
                default:
                    // An item kind from a newer server: nothing this client could show.
                    break;
            }
        }

        throw new CliException(ExitCodes.Failure, $"the log stream of job {request.JobId} ended before the job did");
    }

    private Task WriteChunkAsync(OutputChunk chunk, CancellationToken cancellationToken) => chunk.Stream switch
    {
        // Flushed per message so that a followed job's output shows up as it is produced.
        OutputStream.Stdout => _console.WriteOutputAsync(chunk.Data.Memory, cancellationToken),
        OutputStream.Stderr => _console.WriteErrorAsync(chunk.Data.Memory, cancellationToken),
        _ => throw new CliException(ExitCodes.Failure, $"the server sent output of unknown stream {(int)chunk.Stream}"),
    };
}
