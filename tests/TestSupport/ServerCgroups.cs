using System.Globalization;

namespace Jobs.TestSupport;

/// <summary>
/// The cgroup folders a Jobs server made for its jobs, found as the server names them
/// (<c>MOUNT/jobs/server-PID-N</c>, one per controller hierarchy on cgroup v1), to check that none is left.
/// </summary>
public static class ServerCgroups
{
    private const string CgroupRoot = "/sys/fs/cgroup";

    /// <summary>The folders of server process <paramref name="pid"/>, on every cgroup mount; empty when it has none (or none is left).</summary>
    public static IReadOnlyList<string> FoldersOf(int pid)
    {
        string prefix = "server-" + pid.ToString(CultureInfo.InvariantCulture) + "-";
        var found = new List<string>();
        foreach (string mount in Mounts())
        {
            string parent = Path.Combine(mount, "jobs");
            try
            {
                found.AddRange(Directory.EnumerateDirectories(parent, prefix + "*"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // No jobs folder on this mount.
            }
        }

        return found;
    }

    /// <summary>
    /// The job cgroups inside the server's folders. An empty one may be kept on purpose, for the next job
    /// to reuse: only one with a process in it is a job still running or left behind (<see cref="Members"/>).
    /// </summary>
    public static IReadOnlyList<string> JobFoldersOf(int pid) =>
        FoldersOf(pid).SelectMany(folder =>
        {
            try
            {
                return Directory.GetDirectories(folder);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return [];
            }
        }).ToList();

    /// <summary>The processes in a cgroup folder (its <c>cgroup.procs</c>); empty when it has none or is gone.</summary>
    public static IReadOnlyList<int> Members(string folder)
    {
        try
        {
            return File.ReadAllLines(Path.Combine(folder, "cgroup.procs"))
                .Select(line => int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out int member) ? member : 0)
                .Where(member => member > 0)
                .ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    // cgroup v2 at the root, or the v1 hierarchies (and a v2 one at unified) below it.
    private static IEnumerable<string> Mounts()
    {
        if (!Directory.Exists(CgroupRoot))
        {
            return [];
        }

        return File.Exists(Path.Combine(CgroupRoot, "cgroup.controllers"))
            ? [CgroupRoot]
            : Directory.EnumerateDirectories(CgroupRoot);
    }
}
