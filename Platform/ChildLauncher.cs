using Jobs.Platform.Unix;

namespace Jobs.Platform;

/// <summary>Picks the process implementation for the operating system the server runs on.</summary>
public static class ChildLauncher
{
    /// <summary>Creates the launcher for this operating system.</summary>
    /// <exception cref="PlatformNotSupportedException">No implementation exists yet for this OS.</exception>
    public static IChildLauncher CreateForCurrentOS(PlatformOptions? options = null)
    {
        if (OperatingSystem.IsLinux())
        {
            return new UnixChildLauncher(options);
        }

        if (OperatingSystem.IsWindows())
        {
            return new Windows.WindowsChildLauncher(options);
        }

        throw new PlatformNotSupportedException(
            $"Jobs has no child-process implementation for {System.Runtime.InteropServices.RuntimeInformation.OSDescription} yet.");
    }
}
