using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Jobs.TestChild;

internal static partial class NativeMethods
{
    [LibraryImport("libc", SetLastError = true)]
    internal static partial int setsid();

    [LibraryImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    internal static partial bool GetConsoleScreenBufferInfo(SafeFileHandle console, out ConsoleScreenBufferInfo info);

    // CONSOLE_SCREEN_BUFFER_INFO, flattened: COORD size, COORD cursor, WORD attributes, SMALL_RECT window, COORD maximum.
    [StructLayout(LayoutKind.Sequential)]
    internal struct ConsoleScreenBufferInfo
    {
        public short SizeX;
        public short SizeY;
        public short CursorX;
        public short CursorY;
        public ushort Attributes;
        public short Left;
        public short Top;
        public short Right;
        public short Bottom;
        public short MaximumX;
        public short MaximumY;
    }
}
