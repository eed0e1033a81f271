using System.Runtime.InteropServices;
using Jobs.Protos;
using Microsoft.Win32.SafeHandles;

namespace Jobs.Client.Interactive;

/// <summary>
/// A Unix terminal through termios (<c>tcgetattr</c>, <c>cfmakeraw</c>, <c>tcsetattr</c>), as
/// <c>ssh -t</c> sets it: no echo, no line editing, no signals from keys, no output processing
/// (the job's terminal on the server already turns "\n" into "\r\n").
/// </summary>
/// <remarks>
/// The termios structure is kept as opaque bytes that only libc reads and writes, so its layout,
/// which differs between Linux and macOS, never matters here. System.Console is kept away from
/// the terminal: on Unix its first use writes the terminal's keypad mode and records the settings
/// of the moment to put back at exit, which could be the raw ones.
/// </remarks>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal sealed unsafe partial class UnixTerminal : LocalTerminal
{
    private const int StdinFd = 0;
    private const int StdoutFd = 1;
    private const int StderrFd = 2;

    // Larger than struct termios on every Unix .NET runs on (60 bytes on Linux, 72 on macOS).
    private const int TermiosBytes = 256;

    // Applied once output written so far has gone out, as ssh applies them.
    private const int TcsaDrain = 1;

    private const nuint LinuxTiocgwinsz = 0x5413;

    private readonly Lock _gate = new();
    private readonly byte[] _saved = new byte[TermiosBytes];
    private readonly List<PosixSignalRegistration> _signals = [];
    private bool _haveSaved;
    private bool _raw;

    public static bool IsTerminal(int fd) => IsATty(fd) == 1;

    /// <summary>The window size of stdin's terminal, or stdout's; null when neither is one.</summary>
    public static TerminalSize? ReadSize()
    {
        if (!OperatingSystem.IsLinux())
        {
            // ioctl is variadic, and macOS on arm64 passes variadic arguments on the stack, where
            // a plain declaration would not put them: Console reads the size there instead.
            return Console.IsOutputRedirected && Console.IsInputRedirected
                ? null
                : new TerminalSize { Rows = (uint)Math.Max(0, Console.WindowHeight), Columns = (uint)Math.Max(0, Console.WindowWidth) };
        }

        WinSize size;
        if (IoctlWinSize(StdinFd, LinuxTiocgwinsz, &size) != 0 && IoctlWinSize(StdoutFd, LinuxTiocgwinsz, &size) != 0)
        {
            return null;
        }

        return new TerminalSize { Rows = size.Rows, Columns = size.Columns };
    }

    public override void EnterRawMode()
    {
        lock (_gate)
        {
            if (!_haveSaved)
            {
                fixed (byte* saved = _saved)
                {
                    if (TcGetAttr(StdinFd, saved) != 0)
                    {
                        throw new CliException(ExitCodes.Failure, $"cannot read the terminal's settings: {Marshal.GetLastPInvokeErrorMessage()}");
                    }
                }

                _haveSaved = true;

                // Each of these would end the process before any finally block restored the terminal.
                foreach (var signal in new[] { PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGQUIT })
                {
                    _signals.Add(PosixSignalRegistration.Create(signal, _ => Restore()));
                }

                // A shell that stopped this process (kill -STOP, then fg) set its own settings meanwhile.
                _signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGCONT, _ => Reapply()));
                AppDomain.CurrentDomain.ProcessExit += (_, _) => Restore();
            }

            ApplyRaw();
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

            fixed (byte* saved = _saved)
            {
                // Nothing left to do if it fails: the terminal is gone (a hangup) or never was.
                _ = TcSetAttr(StdinFd, TcsaDrain, saved);
            }

            _raw = false;
        }
    }

    public override IDisposable WatchResize(Action<TerminalSize> resized) =>
        PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _ => resized(Size));

    public override Stream OpenInput() => Open(StdinFd, FileAccess.Read);

    public override Stream OpenOutput() => Open(StdoutFd, FileAccess.Write);

    public override Stream OpenError() => Open(StderrFd, FileAccess.Write);

    // Unbuffered: a key goes out as soon as it is read, output shows as soon as it comes.
    private static FileStream Open(int fd, FileAccess access) => new(new SafeFileHandle(fd, ownsHandle: false), access, bufferSize: 0);

    private void Reapply()
    {
        lock (_gate)
        {
            if (_raw)
            {
                ApplyRaw();
            }
        }
    }

    private void ApplyRaw()
    {
        var raw = new byte[TermiosBytes];
        _saved.CopyTo(raw, 0);
        fixed (byte* settings = raw)
        {
            CfMakeRaw(settings);
            if (TcSetAttr(StdinFd, TcsaDrain, settings) != 0)
            {
                throw new CliException(ExitCodes.Failure, $"cannot put the terminal in raw mode: {Marshal.GetLastPInvokeErrorMessage()}");
            }
        }

        _raw = true;
    }

    [LibraryImport("libc", EntryPoint = "isatty")]
    private static partial int IsATty(int fd);

    [LibraryImport("libc", EntryPoint = "tcgetattr", SetLastError = true)]
    private static partial int TcGetAttr(int fd, byte* termios);

    [LibraryImport("libc", EntryPoint = "tcsetattr", SetLastError = true)]
    private static partial int TcSetAttr(int fd, int optionalActions, byte* termios);

    [LibraryImport("libc", EntryPoint = "cfmakeraw")]
    private static partial void CfMakeRaw(byte* termios);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int IoctlWinSize(int fd, nuint request, WinSize* size);

    [StructLayout(LayoutKind.Sequential)]
    private struct WinSize
    {
        public ushort Rows;
        public ushort Columns;
        public ushort XPixels;
        public ushort YPixels;
    }
}
