using System.Globalization;
using System.Runtime.InteropServices;

namespace Jobs.Platform.Unix;

/// <summary>Accounts from the user database (the server's own, and those jobs run as), rather than from the environment.</summary>
internal static unsafe class UserAccount
{
    // A name, ids and home folder of one line of the user database.
    internal readonly record struct Entry(string Name, uint Uid, uint Gid, string Home);

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
        if (ByUid(uid) is { } entry)
        {
            return (entry.Name, entry.Home);
        }

        return (
            Environment.GetEnvironmentVariable("USER") is { Length: > 0 } user ? user : uid.ToString(CultureInfo.InvariantCulture),
            Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } home ? home : "/");
    }

    /// <summary>The database's entry for <paramref name="uid"/>, or null.</summary>
    public static Entry? ByUid(uint uid) => Find((LibC.Passwd* entry, byte* buffer, nuint size, LibC.Passwd** found) => LibC.getpwuid_r(uid, entry, buffer, size, found));

    /// <summary>The database's entry for the user <paramref name="name"/>, or null.</summary>
    public static Entry? ByName(string name) => Find((LibC.Passwd* entry, byte* buffer, nuint size, LibC.Passwd** found) => LibC.getpwnam_r(name, entry, buffer, size, found));

    /// <summary>The supplementary groups of <paramref name="name"/> (from the group database), without its primary group <paramref name="gid"/>.</summary>
    public static IReadOnlyList<uint> Groups(string name, uint gid)
    {
        int count = 32;
        while (true)
        {
            uint[] groups = new uint[count];
            int capacity = count;
            fixed (uint* g = groups)
            {
                if (LibC.getgrouplist(name, gid, g, &count) >= 0)
                {
                    return [.. groups.Take(count).Where(group => group != gid).Distinct()];
                }
            }

            // Too small: count now says how many there are.
            if (count <= capacity)
            {
                count = capacity * 2;
            }
        }
    }

    private delegate int Lookup(LibC.Passwd* entry, byte* buffer, nuint size, LibC.Passwd** found);

    private static Entry? Find(Lookup lookup)
    {
        for (nuint size = 1024; size <= 1024 * 1024; size *= 4)
        {
            byte[] buffer = new byte[size];
            LibC.Passwd entry;
            LibC.Passwd* found;
            int error;
            fixed (byte* b = buffer)
            {
                error = lookup(&entry, b, size, &found);
                if (error == 0 && found is not null)
                {
                    return new Entry(
                        Marshal.PtrToStringUTF8((nint)entry.Name) ?? string.Empty, entry.Uid, entry.Gid, Marshal.PtrToStringUTF8((nint)entry.Dir) ?? "/");
                }
            }

            // ERANGE: the entry does not fit; anything else (or no entry): none.
            if (error != LibC.ERANGE)
            {
                return null;
            }
        }

        return null;
    }
}
