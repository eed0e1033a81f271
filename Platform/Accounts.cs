using System.Globalization;
using Jobs.Platform.Unix;

namespace Jobs.Platform;

/// <summary>The Unix accounts jobs run as (<see cref="ChildAccount"/>): found in the user database, and given homes of their own.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public static class Accounts
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>
    /// The account <paramref name="account"/> names: a user name of the user database (its ids,
    /// supplementary groups and home), or <c>UID:GID</c> (the database's name and home for that
    /// uid where it has one, else the uid as the name, <c>/</c> as the home and no supplementary groups).
    /// </summary>
    /// <exception cref="ArgumentException">No such user, or not a name nor <c>UID:GID</c>.</exception>
    public static ChildAccount Find(string account)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(account);
        string[] ids = account.Split(':');
        if (ids.Length == 2)
        {
            if (!TryId(ids[0], out uint uid) || !TryId(ids[1], out uint gid))
            {
                throw new ArgumentException($"'{account}' is neither a user name nor UID:GID (two numbers below 4294967295)", nameof(account));
            }

            return UserAccount.ByUid(uid) is { } known
                ? new ChildAccount(known.Name, uid, gid, known.Gid == gid ? UserAccount.Groups(known.Name, gid) : [], known.Home)
                : new ChildAccount(uid.ToString(CultureInfo.InvariantCulture), uid, gid, [], "/");
        }

        var entry = UserAccount.ByName(account) ?? throw new ArgumentException($"no user '{account}' on this machine", nameof(account));
        return new ChildAccount(entry.Name, entry.Uid, entry.Gid, UserAccount.Groups(entry.Name, entry.Gid), entry.Home);
    }

    /// <summary>
    /// Makes <paramref name="path"/> a home only <paramref name="uid"/> may enter: a folder owned by
    /// it and its group <paramref name="gid"/>, mode 0700, created if missing (its parent must
    /// exist, and should let others pass but not list: 0711). Needs root.
    /// </summary>
    /// <exception cref="InvalidOperationException">It is a symbolic link or no folder, or cannot be made so.</exception>
    public static void EnsureHome(string path, uint uid, uint gid)
    {
        try
        {
            Directory.CreateDirectory(path, OwnerOnly);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"cannot create the home '{path}': {e.Message}", e);
        }

        // A link planted in its place would hand the account whatever it points to: never followed.
        if (PrivateDirectory.Lstat(path).Type != LibC.S_IFDIR)
        {
            throw new InvalidOperationException($"the home '{path}' is a symbolic link or not a folder");
        }

        if (LibC.lchown(path, uid, gid) != 0)
        {
            throw new InvalidOperationException($"cannot give the home '{path}' to {uid}:{gid}: {LibC.ErrorText(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}");
        }

        File.SetUnixFileMode(path, OwnerOnly);
    }

    private static bool TryId(string text, out uint id) =>
        uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out id) && id != uint.MaxValue;
}
