using System.Security.Cryptography;
using Jobs.Platform.Unix;
using Microsoft.Win32.SafeHandles;

namespace Jobs.Platform.Storage;

/// <summary>
/// Where a server spools job output, shared safely by servers: each server process keeps a folder
/// of its own in it (<c>server-PID-RANDOM/</c>, a folder per job inside) next to a lock file of
/// the same name that it holds locked for as long as it lives. A lock that can be taken belongs to
/// a server that ended, however it ended; only then are its folder and lock file deleted.
/// On Unix the directory is the server user's alone: created 0700, refused when it is a symbolic
/// link, another user's, or writable by others. On Windows the default lies in the user's own
/// <c>%TEMP%</c>, which its ACL keeps private; a configured directory's ACL is not checked.
/// </summary>
public sealed class DataDirectory : IDisposable
{
    private const string Prefix = "server-";
    private const string LockSuffix = ".lock";
    private readonly SafeFileHandle _lock;
    private readonly string _lockPath;
    private bool _disposed;

    private DataDirectory(string root, string serverFolder, string lockPath, SafeFileHandle held)
    {
        Root = root;
        ServerFolder = serverFolder;
        _lockPath = lockPath;
        _lock = held;
    }

    /// <summary>
    /// The default: <c>$TMPDIR/jobs-output-UID</c> on Unix, a name of the server user's own (another
    /// user who made it first is refused, never used); <c>%TEMP%\jobs-output</c> on Windows. Not
    /// <c>$XDG_RUNTIME_DIR</c>: output can be large, and that is memory, removed at logout.
    /// </summary>
    public static string DefaultPath { get; } = OperatingSystem.IsWindows()
        ? Path.Combine(Path.GetTempPath(), "jobs-output")
        : Path.Combine(Path.GetTempPath(), $"jobs-output-{UserAccount.EffectiveUid}");

    /// <summary>The shared directory.</summary>
    public string Root { get; }

    /// <summary>This server's own folder in it.</summary>
    public string ServerFolder { get; }

    /// <summary>Prepares <paramref name="path"/> (created when missing, checked when not) and makes this server's folder in it.</summary>
    /// <exception cref="InvalidOperationException">The directory is unsafe to keep output in, or cannot be made.</exception>
    public static DataDirectory Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string root = Path.GetFullPath(path);
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(root);
        }
        else
        {
            PrivateDirectory.Ensure(root);
        }

        // The lock first, then the folder: a folder never exists without a held lock beside it.
        for (int attempt = 0; ; attempt++)
        {
            string name = $"{Prefix}{Environment.ProcessId}-{RandomNumberGenerator.GetHexString(8, lowercase: true)}";
            string lockPath = Path.Combine(root, name + LockSuffix);
            SafeFileHandle? held;
            try
            {
                held = LockFile.TryCreate(lockPath);
            }
            catch (IOException e)
            {
                throw new InvalidOperationException($"cannot keep output in '{root}': {e.Message}", e);
            }

            if (held is null)
            {
                if (attempt < 10)
                {
                    continue;
                }

                throw new InvalidOperationException($"cannot find a free name for this server's folder in '{root}'");
            }

            string folder = Path.Combine(root, name);
            CreateFolder(folder);
            return new DataDirectory(root, folder, lockPath, held);
        }
    }

    /// <summary>Creates a folder only the server's user can enter (0700 on Unix), with missing parents.</summary>
    internal static void CreateFolder(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            PrivateDirectory.Create(path);
        }
    }

    /// <summary>Bytes free for this user on the file system that holds the directory, now.</summary>
    public long AvailableBytes() => new DriveInfo(Root).AvailableFreeSpace;

    /// <summary>The folder for one job's output.</summary>
    public string JobFolder(string jobId) => Path.Combine(ServerFolder, jobId);

    /// <summary>
    /// Deletes the folders of servers that ended (their lock can be taken); a live server's, and
    /// anything not made by a server this way, stays. Returns how many were deleted.
    /// </summary>
    /// <param name="failed">Told of a folder that could not be deleted (it is tried again at the next start).</param>
    public int RemoveEnded(Action<string, Exception>? failed = null)
    {
        int removed = 0;
        foreach (string lockPath in Directory.EnumerateFiles(Root, Prefix + "*" + LockSuffix))
        {
            if (lockPath == _lockPath || LockFile.TryTakeOver(lockPath) is not { } taken)
            {
                continue;
            }

            string folder = lockPath[..^LockSuffix.Length];
            try
            {
                if (Directory.Exists(folder))
                {
                    Directory.Delete(folder, recursive: true);
                }

                LockFile.Release(taken, lockPath);
                removed++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The lock file stays, so the next start tries again.
                taken.Dispose();
                failed?.Invoke(folder, e);
            }
        }

        return removed;
    }

    /// <summary>Deletes this server's folder (output is not durable) and its lock file.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            if (Directory.Exists(ServerFolder))
            {
                Directory.Delete(ServerFolder, recursive: true);
            }

            LockFile.Release(_lock, _lockPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The lock goes with the process: the next server to start deletes what is left.
            _lock.Dispose();
        }
    }
}
