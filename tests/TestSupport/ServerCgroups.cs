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

    /// <summary>The job cgroups inside the server's folders: each is a job whose cgroup was not removed (yet).</summary>
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
