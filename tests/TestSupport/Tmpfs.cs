using System.Diagnostics;

namespace Jobs.TestSupport;

/// <summary>
/// A tmpfs of a given size mounted on a temporary folder (root only): a disk that fills up for
/// tests of what a full disk does. Disposing unmounts it (lazily when it is busy) and deletes the folder.
/// </summary>
public sealed class Tmpfs : IDisposable
{
    private bool _disposed;

    private Tmpfs(string path) => Path = path;

    /// <summary>Where it is mounted.</summary>
    public string Path { get; }

    /// <summary>Mounts a tmpfs of <paramref name="megabytes"/> MiB on a new temporary folder.</summary>
    public static Tmpfs Mount(int megabytes)
    {
        string path = Directory.CreateTempSubdirectory("jobs-tmpfs-").FullName;
        try
        {
            Run("mount", "-t", "tmpfs", "-o", $"size={megabytes}m,mode=0700", "tmpfs", path);
        }
        catch
        {
            Directory.Delete(path);
            throw;
        }

        return new Tmpfs(path);
    }

    /// <summary>Bytes free on it now.</summary>
    public long AvailableBytes => new DriveInfo(Path).AvailableFreeSpace;

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            Run("umount", Path);
        }
        catch (InvalidOperationException)
        {
            // Still in use (a process that outlived its test): detached now, gone when it lets go.
            Run("umount", "-l", Path);
        }

        Directory.Delete(Path);
    }

    private static void Run(string program, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardError = true, UseShellExecute = false })
            ?? throw new InvalidOperationException($"cannot start {program}");
        string error = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(30_000))
        {
            process.Kill();
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} did not finish in 30 s");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({process.ExitCode}): {error.Trim()}");
        }
    }
}
