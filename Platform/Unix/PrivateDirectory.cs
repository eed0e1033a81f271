using System.Runtime.InteropServices;

namespace Jobs.Platform.Unix;

/// <summary>A directory only the server's user can change: created 0700, or checked when it exists.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal static unsafe class PrivateDirectory
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Creates <paramref name="path"/> (and missing parents) mode 0700, or checks the one there.</summary>
    /// <exception cref="InvalidOperationException">It is a symbolic link or no directory, another user owns it, or others may write to it.</exception>
    public static void Ensure(string path)
    {
        // Checked with lstat after creating, not before: in a shared folder such as /tmp another
        // user may have made the name first (a folder, or a symbolic link to one of theirs).
        try
        {
            Directory.CreateDirectory(path, OwnerOnly);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"cannot create '{path}': {e.Message}", e);
        }

        var (type, mode, owner) = Lstat(path);
        uint self = LibC.geteuid();
        if (type == LibC.S_IFLNK)
        {
            throw new InvalidOperationException($"'{path}' is a symbolic link; give the directory itself");
        }

        if (type != LibC.S_IFDIR)
        {
            throw new InvalidOperationException($"'{path}' is not a directory");
        }

        if (owner != self)
        {
            throw new InvalidOperationException(
                $"'{path}' is owned by uid {owner}, not by the user the server runs as (uid {self}): another user could read or replace the output kept there");
        }

        if (((UnixFileMode)mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            throw new InvalidOperationException(
                $"'{path}' can be written by other users (mode {Octal(mode)}): they could replace the output kept there; chmod go-w it");
        }
    }

    /// <summary>Creates a directory of this user's own in a directory <see cref="Ensure"/> checked (no one else can have made it).</summary>
    public static void Create(string path) => Directory.CreateDirectory(path, OwnerOnly);

    /// <summary>The type (<c>S_IFMT</c> bits), permission bits and owner of <paramref name="path"/> itself, a symbolic link not followed.</summary>
    /// <exception cref="InvalidOperationException">It cannot be examined.</exception>
    internal static (int Type, int Mode, uint Owner) Lstat(string path)
    {
        byte* buffer = stackalloc byte[LibC.StatxSize];
        if (LibC.statx(LibC.AT_FDCWD, path, LibC.AT_SYMLINK_NOFOLLOW, LibC.STATX_TYPE | LibC.STATX_MODE | LibC.STATX_UID, buffer) != 0)
        {
            throw new InvalidOperationException($"cannot check '{path}': {LibC.ErrorText(Marshal.GetLastPInvokeError())}");
        }

        int mode = *(ushort*)(buffer + LibC.StatxModeOffset);
        return (mode & LibC.S_IFMT, mode & 0xFFF, *(uint*)(buffer + LibC.StatxUidOffset));
    }

    private static string Octal(int mode) => Convert.ToString(mode & 0x1FF, 8).PadLeft(4, '0');
}
