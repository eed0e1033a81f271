using System.Text;

namespace Jobs.Client;

/// <summary>
/// The CLI's stdout and stderr as byte streams: job output must pass through byte-exact, and
/// text lines end in "\n" on every OS so that scripts can read them alike.
/// </summary>
internal sealed class CliConsole
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly Stream _output;
    private readonly Stream _error;

    public CliConsole(Stream output, Stream error)
    {
        _output = output;
        _error = error;
    }

    /// <summary>Writes and flushes bytes to stdout.</summary>
    /// <exception cref="CliException">When stdout is gone (e.g. <c>jobs logs ID | head</c>).</exception>
    public Task WriteOutputAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        WriteAsync(_output, "stdout", data, cancellationToken);

    /// <summary>Writes and flushes bytes to stderr.</summary>
    /// <exception cref="CliException">When stderr is gone.</exception>
    public Task WriteErrorAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        WriteAsync(_error, "stderr", data, cancellationToken);

    /// <summary>
    /// Writes one line of text for a person to stdout, with control and bidi characters shown as
    /// escapes (<see cref="TerminalText"/>): every text line may carry what a job's owner chose.
    /// </summary>
    public Task WriteLineAsync(string line, CancellationToken cancellationToken) =>
        WriteVerbatimLineAsync(TerminalText.Escape(line), cancellationToken);

    /// <summary>Writes a message as one line of JSON (the protobuf JSON mapping, default values included).</summary>
    public Task WriteJsonAsync(Google.Protobuf.IMessage message, CancellationToken cancellationToken) =>
        WriteJsonLineAsync(Json.Format(message), cancellationToken);

    /// <summary>Writes one line of JSON: the values stay exact, only unsafe characters in strings become JSON escapes.</summary>
    public Task WriteJsonLineAsync(string json, CancellationToken cancellationToken) =>
        WriteVerbatimLineAsync(TerminalText.EscapeJson(json), cancellationToken);

    /// <summary>Writes text this program made itself, such as a completion script, as it is.</summary>
    public Task WriteVerbatimLineAsync(string text, CancellationToken cancellationToken) =>
        WriteOutputAsync(Utf8.GetBytes(text + "\n"), cancellationToken);

    private static readonly Google.Protobuf.JsonFormatter Json = new(Google.Protobuf.JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    /// <summary>
    /// Writes one error line, escaped like <see cref="WriteLineAsync"/> since errors echo ids,
    /// commands and the server's words; never cancelled, since it may report the cancellation itself.
    /// </summary>
    public void WriteErrorLine(string line)
    {
        try
        {
            _error.Write(Utf8.GetBytes(TerminalText.Escape(line) + "\n"));
            _error.Flush();
        }
        catch (IOException)
        {
            // Nowhere left to report it; the exit code still tells.
        }
    }

    /// <summary>For System.CommandLine's help and version text.</summary>
    public static TextWriter CreateWriter(Stream stream) =>
        new StreamWriter(stream, Utf8, bufferSize: 4096, leaveOpen: true) { AutoFlush = true, NewLine = "\n" };

    private static async Task WriteAsync(Stream stream, string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        try
        {
            await stream.WriteAsync(data, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            // Must not be mistaken for a connection failure, which is what IOException means elsewhere.
            throw new CliException(ExitCodes.Failure, $"cannot write to {name}: {ex.Message}", ex);
        }
    }
}
