namespace Jobs.TestSupport;

/// <summary>What tests check about processes, read from /proc (Linux).</summary>
public static class Processes
{
    /// <summary>True while the process exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            char state = stat[(stat.LastIndexOf(')') + 2)..][0];
            return state is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Waits until the process is gone; false if it is still alive after <paramref name="timeout"/>.</summary>
    public static async Task<bool> WaitGoneAsync(int pid, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (IsAlive(pid))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    /// <summary>Reads a pid a test child wrote to a file, waiting for the file to appear.</summary>
    public static async Task<int> ReadPidFileAsync(string path, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            // A shell's "echo $! > FILE" creates the file before it writes: empty is not yet written.
            if (File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), System.Globalization.CultureInfo.InvariantCulture, out int pid))
            {
                return pid;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no pid in a file at {path}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Kills a process by pid if it still exists; for cleaning up after a failed test.</summary>
    public static void KillIfAlive(int pid)
    {
        if (!IsAlive(pid))
        {
            return;
        }

        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            process.Kill();
        }
        catch (ArgumentException)
        {
            // gone meanwhile
        }
        catch (InvalidOperationException)
        {
            // gone meanwhile
        }
    }
}
