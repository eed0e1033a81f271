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

    public Task WriteLineAsync(string line, CancellationToken cancellationToken) =>
        WriteOutputAsync(Utf8.GetBytes(line + "\n"), cancellationToken);

    /// <summary>Writes a message as one line of JSON (the protobuf JSON mapping, default values included).</summary>
    public Task WriteJsonAsync(Google.Protobuf.IMessage message, CancellationToken cancellationToken) =>
        WriteLineAsync(Json.Format(message), cancellationToken);

    private static readonly Google.Protobuf.JsonFormatter Json = new(Google.Protobuf.JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    /// <summary>Writes one error line; never cancelled, since it may report the cancellation itself.</summary>
    public void WriteErrorLine(string line)
    {
        try
        {
            _error.Write(Utf8.GetBytes(line + "\n"));
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
