using System.Runtime.InteropServices;
using Jobs.Platform.Unix;
using Microsoft.Win32.SafeHandles;

namespace Jobs.Platform.Storage;

/// <summary>
/// A file held locked for as long as the process that made it lives: the kernel drops the lock
/// when the process ends, however it ends, so a lock that can be taken belongs to a process gone.
/// Unix: flock (also honoured across machines on NFS v4); Windows: a handle opened without sharing.
/// </summary>
internal static class LockFile
{
    /// <summary>Creates and locks a new file (mode 0600, in a directory only this user can write to); null when the name is taken.</summary>
    public static SafeFileHandle? TryCreate(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            try
            {
                return File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (File.Exists(path))
            {
                return null;
            }
        }

        // Made and locked under a name no sweep looks at, then renamed: a lock file that can be
        // seen is always locked already, so no sweep takes it over between the open and the flock.
        string fresh = path + ".new";
        int fd = LibC.open(fresh, LibC.O_RDWR | LibC.O_CREAT | LibC.O_EXCL | LibC.O_CLOEXEC, 0x180);
        if (fd < 0)
        {
            int error = Marshal.GetLastPInvokeError();
            return error == LibC.EEXIST ? null : throw new IOException($"cannot create '{fresh}': {LibC.ErrorText(error)}");
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            if (LibC.flock(fd, LibC.LOCK_EX | LibC.LOCK_NB) != 0)
            {
                throw new IOException($"cannot lock '{fresh}': {LibC.ErrorText(Marshal.GetLastPInvokeError())}");
            }

            File.Move(fresh, path, overwrite: false);
            return handle;
        }
        catch (IOException) when (File.Exists(path))
        {
            handle.Dispose();
            File.Delete(fresh);
            return null;
        }
        catch
        {
            handle.Dispose();
            File.Delete(fresh);
            throw;
        }
    }

    /// <summary>Takes the lock of a process that ended; null while it lives (or when the file is gone).</summary>
    public static SafeFileHandle? TryTakeOver(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            try
            {
                // Deleted when this handle closes: after the folder it guarded is gone.
                return File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None, FileOptions.DeleteOnClose);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }

        int fd = LibC.open(path, LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        if (fd < 0)
        {
            return null;
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (LibC.flock(fd, LibC.LOCK_EX | LibC.LOCK_NB) != 0)
        {
            handle.Dispose();
            return null;
        }

        return handle;
    }

    /// <summary>Deletes the file and lets go of its lock.</summary>
    public static void Release(SafeFileHandle handle, string path)
    {
        // Deleted while still held: no one can take it over between the two.
        if (!OperatingSystem.IsWindows())
        {
            File.Delete(path);
        }

        handle.Dispose();
        if (OperatingSystem.IsWindows())
        {
            File.Delete(path);
        }
    }
}
