namespace Jobs.Platform.Unix;

/// <summary>
/// A cgroup per job, under <c>jobs/server-PID-N/</c> of the cgroup v2 hierarchy or, where only v1
/// is mounted, of its <c>pids</c> hierarchy. Membership is inherited by every descendant and
/// cannot be left without root, so a job's whole tree can be found, killed and waited for,
/// including processes that left its process group or session.
/// </summary>
internal sealed class Cgroups
{
    private static int s_instances;
    private long _next;

    private Cgroups(string parent, string directory)
    {
        Parent = parent;
        Directory = directory;
    }

    /// <summary>Where this server's job cgroups are created.</summary>
    public string Directory { get; }

    private string Parent { get; }

    /// <summary>This server's cgroup folder, or null (with the reason) when cgroups cannot be used here.</summary>
    public static Cgroups? TryCreate(out string reason)
    {
        string? root = File.Exists("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup"
            : System.IO.Directory.Exists("/sys/fs/cgroup/pids") ? "/sys/fs/cgroup/pids"
            : null;
        if (root is null)
        {
            reason = "no cgroup v2 hierarchy and no cgroup v1 pids hierarchy is mounted";
            return null;
        }

        string parent = Path.Combine(root, "jobs");
        // One folder per launcher, so that launchers in one process (tests) never sweep each other's jobs.
        string directory = Path.Combine(parent, $"server-{Environment.ProcessId}-{Interlocked.Increment(ref s_instances)}");
        try
        {
            System.IO.Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            reason = $"cannot create {directory}: {e.Message}";
            return null;
        }

        if (root == "/sys/fs/cgroup")
        {
            // cgroup v2 hands a controller to a child only when every ancestor enables it for its children.
            foreach (string level in new[] { root, parent, directory })
            {
                TryEnable(level, "+pids");
            }
        }

        reason = $"job cgroups under {directory}";
        var cgroups = new Cgroups(parent, directory);
        cgroups.SweepStale();
        return cgroups;
    }

    /// <summary>Creates an empty cgroup for a new job, with its limits set.</summary>
    /// <exception cref="LimitUnavailableException">A limit's controller is not available here.</exception>
    public string Create(ChildLimits? limits)
    {
        string directory = Path.Combine(Directory, $"job-{Interlocked.Increment(ref _next)}");
        System.IO.Directory.CreateDirectory(directory);
        try
        {
            if (limits?.MaxProcesses is { } processes)
            {
                Write(directory, "pids.max", processes.ToString(System.Globalization.CultureInfo.InvariantCulture), "pids");
            }
        }
        catch
        {
            System.IO.Directory.Delete(directory);
            throw;
        }

        return directory;
    }

    private static void Write(string cgroup, string file, string value, string controller)
    {
        string path = Path.Combine(cgroup, file);
        if (!File.Exists(path))
        {
            throw new LimitUnavailableException($"the {controller} controller is not available for job cgroups here ({path} is missing)");
        }

        File.WriteAllText(path, value);
    }

    /// <summary>Sends a signal to every process in the cgroup, except members of <paramref name="skipGroup"/>; returns how many members there were.</summary>
    public static int Signal(string cgroup, int signal, int skipGroup = 0)
    {
        int count = 0;
        foreach (int pid in Members(cgroup))
        {
            if (skipGroup == 0 || LibC.getpgid(pid) != skipGroup)
            {
                LibC.kill(pid, signal);
            }

            count++;
        }

        return count;
    }

    /// <summary>Kills every member until none is left (or the time is up), then removes the cgroup.</summary>
    public static async Task<bool> KillAndRemoveAsync(string cgroup, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Signal(cgroup, LibC.SIGKILL) > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(5).ConfigureAwait(false);
        }

        try
        {
            System.IO.Directory.Delete(cgroup);
        }
        catch (IOException)
        {
            // Removed by the watchdog meanwhile, or a member appeared: the next start sweeps it.
        }

        return true;
    }

    private static void TryEnable(string cgroup, string controllers)
    {
        try
        {
            File.WriteAllText(Path.Combine(cgroup, "cgroup.subtree_control"), controllers);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not available: a job that asks for this limit is refused then.
        }
    }

    private static List<int> Members(string cgroup)
    {
        var members = new List<int>();
        try
        {
            foreach (string line in File.ReadLines(Path.Combine(cgroup, "cgroup.procs")))
            {
                if (int.TryParse(line, out int pid))
                {
                    members.Add(pid);
                }
            }
        }
        catch (IOException)
        {
            // The cgroup is gone.
        }

        return members;
    }

    // Servers that died without their watchdog (or before it ran) leave cgroups behind: end their jobs now.
    private void SweepStale()
    {
        foreach (string server in System.IO.Directory.EnumerateDirectories(Parent, "server-*"))
        {
            string[] parts = Path.GetFileName(server).Split('-');
            if (server == Directory || parts.Length < 2 || !int.TryParse(parts[1], out int pid) || ProcessTable.Exists(pid))
            {
                continue;
            }

            foreach (string job in System.IO.Directory.EnumerateDirectories(server))
            {
                KillAndRemoveAsync(job, TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
            }

            try
            {
                System.IO.Directory.Delete(server);
            }
            catch (IOException)
            {
                // Still busy; the next start tries again.
            }
        }
    }
}
