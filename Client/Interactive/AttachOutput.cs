using System.Text;
using Jobs.Protos;

namespace Jobs.Client.Interactive;

/// <summary>
/// Where an attach writes the job's output and its own notices: the CLI's stdout and stderr as
/// <see cref="CliConsole"/> has them (a job without a terminal, or stdin that is not one), or the
/// raw terminal's streams, where a line must end in "\r\n" to start at the left again.
/// </summary>
internal sealed class AttachOutput
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly CliConsole? _console;
    private readonly Stream? _stdout;
    private readonly Stream? _stderr;

    private AttachOutput(CliConsole? console, Stream? stdout, Stream? stderr)
    {
        _console = console;
        _stdout = stdout;
        _stderr = stderr;
    }

    public static AttachOutput ForConsole(CliConsole console) => new(console, null, null);

    public static AttachOutput ForTerminal(LocalTerminal terminal) => new(null, terminal.OpenOutput(), terminal.OpenError());

    public Task WriteAsync(OutputChunk chunk, CancellationToken cancellationToken)
    {
        if (_console is not null)
        {
            return chunk.Stream switch
            {
                OutputStream.Stdout => _console.WriteOutputAsync(chunk.Data.Memory, cancellationToken),
                OutputStream.Stderr => _console.WriteErrorAsync(chunk.Data.Memory, cancellationToken),
                _ => throw new CliException(ExitCodes.Failure, $"the server sent output of unknown stream {(int)chunk.Stream}"),
            };
        }

        return WriteRawAsync(chunk.Stream == OutputStream.Stderr ? _stderr! : _stdout!, chunk.Data.Memory, cancellationToken);
    }

    /// <summary>One line of the CLI's own, on stderr.</summary>
    public void Notice(string line)
    {
        if (_console is not null)
        {
            _console.WriteErrorLine(line);
            return;
        }

        try
        {
            _stderr!.Write(Utf8.GetBytes("\r\n" + TerminalText.Escape(line) + "\r\n"));
        }
        catch (IOException)
        {
            // Nowhere left to say it.
        }
    }

    private static async Task WriteRawAsync(Stream stream, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        try
        {
            await stream.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw new CliException(ExitCodes.Failure, $"cannot write to the terminal: {ex.Message}", ex);
        }
    }
}
