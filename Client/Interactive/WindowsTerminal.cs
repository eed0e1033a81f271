using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Jobs.Protos;

namespace Jobs.Client.Interactive;

/// <summary>
/// A Windows console in virtual-terminal mode (<c>SetConsoleMode</c>): input without line
/// editing, echo or Ctrl+C processing, as VT sequences; output that interprets the job's escape
/// sequences; both in UTF-8. The size has no change notice a console program can wait on, so it
/// is polled.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed partial class WindowsTerminal : LocalTerminal
{
    private const int StdInputHandle = -10;
    private const int StdOutputHandle = -11;
    private const uint EnableProcessedInput = 0x1;
    private const uint EnableLineInput = 0x2;
    private const uint EnableEchoInput = 0x4;
    private const uint EnableVirtualTerminalInput = 0x200;
    private const uint EnableVirtualTerminalProcessing = 0x4;
    private const uint DisableNewlineAutoReturn = 0x8;
    private const uint Utf8CodePage = 65001;
    private static readonly TimeSpan ResizePoll = TimeSpan.FromMilliseconds(250);

    private readonly Lock _gate = new();
    private uint _inputMode;
    private uint _outputMode;
    private uint _inputCodePage;
    private uint _outputCodePage;
    private bool _raw;

    public static bool StdinIsConsole() => GetConsoleMode(GetStdHandle(StdInputHandle), out _) != 0;

    public static TerminalSize? ReadSize()
    {
        try
        {
            return new TerminalSize { Rows = (uint)Math.Max(0, Console.WindowHeight), Columns = (uint)Math.Max(0, Console.WindowWidth) };
        }
        catch (IOException)
        {
            return null;
        }
    }

    public override void EnterRawMode()
    {
        lock (_gate)
        {
            if (_raw)
            {
                return;
            }

            nint input = GetStdHandle(StdInputHandle);
            nint output = GetStdHandle(StdOutputHandle);
            if (GetConsoleMode(input, out _inputMode) == 0)
            {
                throw new CliException(ExitCodes.Failure, $"cannot read the console's input mode: {Marshal.GetLastPInvokeErrorMessage()}");
            }

            bool haveOutput = GetConsoleMode(output, out _outputMode) != 0;
            _inputCodePage = GetConsoleCP();
            _outputCodePage = GetConsoleOutputCP();
            uint rawInput = (_inputMode & ~(EnableProcessedInput | EnableLineInput | EnableEchoInput)) | EnableVirtualTerminalInput;
            if (SetConsoleMode(input, rawInput) == 0)
            {
                // Before Windows 10 there is no virtual-terminal input.
                throw new CliException(ExitCodes.Failure, $"this console has no virtual-terminal input: {Marshal.GetLastPInvokeErrorMessage()}");
            }

            if (haveOutput)
            {
                _ = SetConsoleMode(output, _outputMode | EnableVirtualTerminalProcessing | DisableNewlineAutoReturn);
            }

            _ = SetConsoleCP(Utf8CodePage);
            _ = SetConsoleOutputCP(Utf8CodePage);
            _raw = true;
            AppDomain.CurrentDomain.ProcessExit += (_, _) => Restore();
        }
    }

    public override void Restore()
    {
        lock (_gate)
        {
            if (!_raw)
            {
                return;
            }

            _ = SetConsoleMode(GetStdHandle(StdInputHandle), _inputMode);
            _ = SetConsoleMode(GetStdHandle(StdOutputHandle), _outputMode);
            _ = SetConsoleCP(_inputCodePage);
            _ = SetConsoleOutputCP(_outputCodePage);
            _raw = false;
        }
    }

    public override IDisposable WatchResize(Action<TerminalSize> resized)
    {
        var last = Size;
        return new Timer(
            _ =>
            {
                var now = Size;
                if (!now.Equals(last))
                {
                    last = now;
                    resized(now);
                }
            },
            null,
            ResizePoll,
            ResizePoll);
    }

    // With the UTF-8 input code page the console stream reads with ReadFile: bytes, VT sequences included.
    public override Stream OpenInput() => Console.OpenStandardInput();

    public override Stream OpenOutput() => Console.OpenStandardOutput();

    public override Stream OpenError() => Console.OpenStandardError();

    [LibraryImport("kernel32.dll", SetLastError = true)]
    private static partial nint GetStdHandle(int handle);

    [LibraryImport("kernel32.dll", SetLastError = true)]
    private static partial int GetConsoleMode(nint handle, out uint mode);

    [LibraryImport("kernel32.dll", SetLastError = true)]
    private static partial int SetConsoleMode(nint handle, uint mode);

    [LibraryImport("kernel32.dll")]
    private static partial uint GetConsoleCP();

    [LibraryImport("kernel32.dll")]
    private static partial uint GetConsoleOutputCP();

    [LibraryImport("kernel32.dll")]
    private static partial int SetConsoleCP(uint codePage);

    [LibraryImport("kernel32.dll")]
    private static partial int SetConsoleOutputCP(uint codePage);
}
