using System.Diagnostics;

namespace Jobs.TestSupport;

/// <summary>Sends signals the way an operator would, with the system's kill command.</summary>
public static class Signals
{
    /// <summary>Sends SIGTERM to a process.</summary>
    public static void Terminate(int pid)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        kill.WaitForExit();
    }
}
