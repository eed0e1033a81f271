namespace Jobs.TestSupport;

/// <summary>What this machine offers the tests of limits and isolation, detected when the tests are discovered.</summary>
public static class Machine
{
    private static readonly string[] s_mounts = ReadMounts();

    /// <summary>True when the tests run as root.</summary>
    public static bool IsRoot => Environment.IsPrivilegedProcess;

    /// <summary>
    /// Why a test needing all of <paramref name="needs"/> cannot run here, or null when it can. Needs:
    /// <c>root</c>; <c>cgroup:pids|memory|cpu|io</c> (a controller job cgroups can use);
    /// <c>isolation</c> (CAP_SYS_ADMIN for namespaces); <c>cgroup2-without:CONTROLLER</c> (a cgroup v2 mount lacking it);
    /// <c>disk</c> (the temporary folder is on a block device, and the tests are root).
    /// </summary>
    public static string? Missing(params string[] needs)
    {
        foreach (string need in needs)
        {
            string? missing = need switch
            {
                "root" => IsRoot ? null : "the tests do not run as root",
                "isolation" => IsRoot && HasCapability(21) ? null : "the tests lack CAP_SYS_ADMIN, which namespaces need",
                "disk" => TempDisk() is null ? "the temporary folder is not on a block device the tests can throttle" : null,
                _ when need.StartsWith("cgroup:", StringComparison.Ordinal) => HasController(need[7..]) ? null : $"no cgroup {need[7..]} controller is available (cgroup v2 at /sys/fs/cgroup, or a v1 hierarchy) or the tests are not root",
                _ when need.StartsWith("cgroup2-without:", StringComparison.Ordinal) => CgroupV2MountWithout(need[16..]) is null ? $"no cgroup v2 mount without the {need[16..]} controller is present" : null,
                _ => throw new ArgumentException($"unknown need '{need}'", nameof(needs)),
            };
            if (missing is not null)
            {
                return missing;
            }
        }

        return null;
    }

    /// <summary>A cgroup v2 mount whose root does not offer <paramref name="controller"/>, or null.</summary>
    public static string? CgroupV2MountWithout(string controller) => s_mounts
        .Select(line => line.Split(' '))
        .Where(f => f.Length > 2 && f[2] == "cgroup2")
        .Select(f => f[1])
        .FirstOrDefault(mount => File.Exists(Path.Combine(mount, "cgroup.controllers"))
            && !File.ReadAllText(Path.Combine(mount, "cgroup.controllers")).Split(' ', StringSplitOptions.TrimEntries).Contains(controller));

    /// <summary>
    /// The block device (<c>MAJOR:MINOR</c>) holding the file system of the temporary folder, when
    /// that is a real disk the tests may throttle (as root), or null.
    /// </summary>
    public static string? TempDisk()
    {
        string temp = Path.GetFullPath(Path.GetTempPath());
        string? best = null;
        int bestLength = -1;
        foreach (string line in File.Exists("/proc/self/mountinfo") ? File.ReadLines("/proc/self/mountinfo") : [])
        {
            // id parent MAJ:MIN root mountpoint ...
            string[] f = line.Split(' ');
            string mount = f[4];
            bool covers = temp.StartsWith(mount.TrimEnd('/') + "/", StringComparison.Ordinal) || mount == "/";
            if (f.Length > 4 && covers && mount.Length >= bestLength)
            {
                best = f[2];
                bestLength = mount.Length;
            }
        }

        return IsRoot && best is not null && Directory.Exists($"/sys/dev/block/{best}") ? best : null;
    }

    /// <summary>
    /// The path of <paramref name="file"/> in the cgroup of process <paramref name="pid"/> that holds
    /// <paramref name="controller"/> (cgroup v2: its one cgroup), or null when it has none.
    /// </summary>
    public static string? CgroupFile(int pid, string controller, string file)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/cgroup"))
        {
            // hierarchy-id:controllers:path
            string[] f = line.Split(':', 3);
            if (File.Exists("/sys/fs/cgroup/cgroup.controllers") ? f[0] == "0" : f[1].Split(',').Contains(controller))
            {
                string root = File.Exists("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup" : $"/sys/fs/cgroup/{controller}";
                string path = Path.Combine(root + f[2], file);
                return File.Exists(path) ? path : null;
            }
        }

        return null;
    }

    private static bool HasController(string controller)
    {
        if (!IsRoot)
        {
            return false;
        }

        if (File.Exists("/sys/fs/cgroup/cgroup.controllers"))
        {
            return File.ReadAllText("/sys/fs/cgroup/cgroup.controllers").Split(' ', StringSplitOptions.TrimEntries).Contains(controller);
        }

        string v1 = controller == "io" ? "blkio" : controller;
        return s_mounts.Select(line => line.Split(' '))
            .Any(f => f.Length > 3 && f[2] == "cgroup" && f[3].Split(',').Contains(v1));
    }

    private static bool HasCapability(int capability)
    {
        string? line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line[7..].Trim(), 16) & (1UL << capability)) != 0;
    }

    private static string[] ReadMounts() => File.Exists("/proc/self/mounts") ? File.ReadAllLines("/proc/self/mounts") : [];
}
