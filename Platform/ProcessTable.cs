namespace Jobs.Platform;

/// <summary>Questions about processes by id.</summary>
public static class ProcessTable
{
    /// <summary>True while a process with this id exists and has not ended (a zombie, ended but not reaped, has).</summary>
    public static bool Exists(int pid)
    {
        if (OperatingSystem.IsLinux())
        {
            // Where nobody reaps orphans (PID 1 in some containers), ended processes stay as zombies.
            try
            {
                string stat = File.ReadAllText($"/proc/{pid}/stat");
                return stat[(stat.LastIndexOf(')') + 2)..][0] is not ('Z' or 'X');
            }
            catch (IOException)
            {
                return false;
            }
        }

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
