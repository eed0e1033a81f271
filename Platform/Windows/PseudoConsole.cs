using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Jobs.Platform.Windows;

/// <summary>
/// A ConPTY pseudoconsole (<c>CreatePseudoConsole</c>, Windows 10 1809 and later). Its functions are
/// looked up at run time, not imported, so that the server still starts on a Windows without them
/// and only a job asking for a terminal is refused.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed unsafe class PseudoConsole
{
    private static readonly delegate* unmanaged[Stdcall]<Win32.COORD, nint, nint, uint, nint*, int> s_create;
    private static readonly delegate* unmanaged[Stdcall]<nint, Win32.COORD, int> s_resize;
    private static readonly delegate* unmanaged[Stdcall]<nint, void> s_close;

    private readonly Lock _gate = new();
    private nint _handle;

    static PseudoConsole()
    {
        if (NativeLibrary.TryLoad("kernel32.dll", out nint kernel32)
            && NativeLibrary.TryGetExport(kernel32, "CreatePseudoConsole", out nint create)
            && NativeLibrary.TryGetExport(kernel32, "ResizePseudoConsole", out nint resize)
            && NativeLibrary.TryGetExport(kernel32, "ClosePseudoConsole", out nint close))
        {
            s_create = (delegate* unmanaged[Stdcall]<Win32.COORD, nint, nint, uint, nint*, int>)create;
            s_resize = (delegate* unmanaged[Stdcall]<nint, Win32.COORD, int>)resize;
            s_close = (delegate* unmanaged[Stdcall]<nint, void>)close;
        }
    }

    private PseudoConsole(nint handle)
    {
        _handle = handle;
    }

    /// <summary>Whether this Windows has ConPTY.</summary>
    public static bool IsAvailable => s_create is not null;

    /// <summary>The <c>HPCON</c>, for <c>PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE</c>.</summary>
    public nint Handle => _handle;

    /// <summary>
    /// A pseudoconsole that reads the keys typed from <paramref name="input"/> and writes what its
    /// screen shows to <paramref name="output"/> (it keeps copies of both: the caller closes its own).
    /// </summary>
    public static PseudoConsole Create(TerminalSize size, nint input, nint output)
    {
        if (!IsAvailable)
        {
            throw new InvalidOperationException("ConPTY is not available");
        }

        nint handle;
        int result = s_create(Coord(size), input, output, 0, &handle);
        if (result < 0)
        {
            throw new ChildStartException("CreatePseudoConsole", result, $"cannot create a pseudoconsole: {Marshal.GetPInvokeErrorMessage(result & 0xFFFF)} (0x{result:X8})");
        }

        return new PseudoConsole(handle);
    }

    /// <summary>Sets the console's size (the program sees a window-buffer-size event); false once closed.</summary>
    public bool Resize(TerminalSize size)
    {
        lock (_gate)
        {
            return _handle != 0 && s_resize(_handle, Coord(size)) >= 0;
        }
    }

    /// <summary>
    /// Ends the pseudoconsole: its host exits, which ends the output pipe. It may wait until the host
    /// has written its last output, so it is called where the output is being read.
    /// </summary>
    public void Close()
    {
        nint handle;
        lock (_gate)
        {
            handle = _handle;
            _handle = 0;
        }

        if (handle != 0)
        {
            s_close(handle);
        }
    }

    // COORD holds SHORTs: a terminal larger than 32767 cells either way gets 32767.
    private static Win32.COORD Coord(TerminalSize size) => new()
    {
        X = (short)Math.Clamp(size.Columns, 1, short.MaxValue),
        Y = (short)Math.Clamp(size.Rows, 1, short.MaxValue),
    };
}
