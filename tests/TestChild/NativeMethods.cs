using System.Runtime.InteropServices;

namespace Jobs.TestChild;

internal static partial class NativeMethods
{
    [LibraryImport("libc", SetLastError = true)]
    internal static partial int setsid();
}
