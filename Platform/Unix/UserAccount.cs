using System.Globalization;
using System.Runtime.InteropServices;

namespace Jobs.Platform.Unix;

/// <summary>The user the server runs as, from the user database rather than from its environment.</summary>
internal static unsafe class UserAccount
{
    /// <summary>The effective user id of this process.</summary>
    public static uint EffectiveUid => LibC.geteuid();

    /// <summary>
    /// The name and home folder of the effective user. A user the database does not know (an
    /// arbitrary uid in a container) gets the server's USER and HOME, else its uid and "/", as
    /// systemd gives a dynamic user.
    /// </summary>
    public static (string Name, string Home) Current()
    {
        uint uid = LibC.geteuid();
        for (nuint size = 1024; size <= 1024 * 1024; size *= 4)
        {
            byte[] buffer = new byte[size];
            LibC.Passwd entry;
            LibC.Passwd* found;
            int error;
            fixed (byte* b = buffer)
            {
                error = LibC.getpwuid_r(uid, &entry, b, size, &found);
                if (error == 0 && found is not null)
                {
                    return (Marshal.PtrToStringUTF8((nint)entry.Name) ?? string.Empty, Marshal.PtrToStringUTF8((nint)entry.Dir) ?? "/");
                }
            }

            // ERANGE: the entry does not fit; anything else (or no entry): fall back.
            if (error != LibC.ERANGE)
            {
                break;
            }
        }

        return (
            Environment.GetEnvironmentVariable("USER") is { Length: > 0 } user ? user : uid.ToString(CultureInfo.InvariantCulture),
            Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } home ? home : "/");
    }
}
