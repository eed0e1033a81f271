namespace Jobs.Silo.Security;

/// <summary>Whether a file of secrets (a private key, a password) is its owner's alone.</summary>
public static class FileModes
{
    /// <summary>
    /// The mode of <paramref name="path"/> in octal (<c>0644</c>) when group or others may read or
    /// write it; null when they may not, when it does not exist, or on Windows, where modes do not apply.
    /// </summary>
    public static string? OpenToOthers(string path)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(path))
        {
            return null;
        }

        var mode = File.GetUnixFileMode(path);
        const UnixFileMode others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;
        return (mode & others) == 0 ? null : Convert.ToString((int)mode, 8).PadLeft(4, '0');
    }
}
