namespace Jobs.Platform;

/// <summary>Questions about processes by id.</summary>
public static class ProcessTable
{
    /// <summary>True while a process with this id exists.</summary>
    public static bool Exists(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
