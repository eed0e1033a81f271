namespace Jobs.Platform.Unix;

/// <summary>Names block devices the way cgroups do (<c>MAJOR:MINOR</c> of a whole disk), from sysfs.</summary>
internal static class BlockDevices
{
    /// <summary>Each rate keyed by the disk it applies to; a rate without a device applies to every disk. Later rates for one disk win.</summary>
    /// <exception cref="ArgumentException">A device is not a block device of this machine.</exception>
    public static IEnumerable<(string Device, long Rate)> Resolve(IReadOnlyList<DeviceRate>? rates)
    {
        var resolved = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var rate in rates ?? [])
        {
            foreach (string device in rate.Device is null ? AllDisks() : [Disk(rate.Device)])
            {
                resolved[device] = rate.BytesPerSecond;
            }
        }

        return resolved.Select(r => (r.Key, r.Value));
    }

    // Whole disks with media (unused loop devices have a size of 0, and cgroups refuse them).
    private static IEnumerable<string> AllDisks()
    {
        var disks = new List<string>();
        foreach (string disk in Directory.EnumerateDirectories("/sys/block"))
        {
            string size = ReadOrEmpty(Path.Combine(disk, "size"));
            string number = ReadOrEmpty(Path.Combine(disk, "dev"));
            if (number.Length > 0 && long.TryParse(size, out long sectors) && sectors > 0)
            {
                disks.Add(number);
            }
        }

        if (disks.Count == 0)
        {
            throw new ArgumentException("this server has no block device to limit");
        }

        return disks;
    }

    private static string Disk(string device)
    {
        string sysfs = string.Empty;
        if (device.StartsWith('/'))
        {
            // A path such as /dev/vda or /dev/disk/by-uuid/…, resolved to its kernel name.
            var file = new FileInfo(device);
            if (file.Exists)
            {
                sysfs = Path.Combine("/sys/class/block", file.ResolveLinkTarget(returnFinalTarget: true)?.Name ?? file.Name);
            }
        }
        else
        {
            sysfs = Path.Combine("/sys/dev/block", device);
        }

        if (sysfs.Length == 0 || device.Contains("..", StringComparison.Ordinal) || !Directory.Exists(sysfs))
        {
            throw new ArgumentException($"'{device}' is not a block device of the server (a path such as /dev/sda, or MAJOR:MINOR)");
        }

        // A partition's folder sits inside its disk's; cgroups limit whole disks.
        string real = new DirectoryInfo(sysfs).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? sysfs;
        if (File.Exists(Path.Combine(real, "partition")))
        {
            real = Path.GetDirectoryName(real)!;
        }

        string number = ReadOrEmpty(Path.Combine(real, "dev"));
        return number.Length > 0 ? number : throw new ArgumentException($"'{device}' is not a block device of the server");
    }

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }
}
