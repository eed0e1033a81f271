using System.Globalization;

namespace Jobs.Platform.Unix;

/// <summary>The accounts of a root server: the user database's, and uids of identities' own, with homes under one folder.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal sealed class UnixJobAccounts : IJobAccounts
{
    private const UnixFileMode PassOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private readonly string _homes;

    public UnixJobAccounts(string homes)
    {
        _homes = Path.GetFullPath(homes);
        EnsureHomes();
    }

    public string? CannotSwitch => null;

    public (string Name, uint? Uid) Server => ("root", 0);

    public Task<ChildAccount> FindAsync(string account) => Task.Run(() =>
    {
        var found = Accounts.Find(account);

        // A uid the user database does not know has "/" for a home, which is not its own.
        if (Directory.Exists(found.Home) && (found.Home != "/" || found.Uid == 0))
        {
            return found;
        }

        // An account without a home of its own (nobody's /nonexistent, an unknown UID:GID) gets one here.
        EnsureHomes();
        string home = HomeOf(found.Uid);
        Accounts.EnsureHome(home, found.Uid, found.Gid);
        return found with { Home = home };
    });

    public Task<ChildAccount> DynamicAsync(uint uid) => Task.Run(() =>
    {
        // The range is meant to be free; a node whose user database has the uid would hand the
        // identity that account's files, so it refuses instead.
        if (UserAccount.ByUid(uid) is { } taken)
        {
            throw new InvalidOperationException(
                $"uid {uid} of the range for identities' own uids is the account '{taken.Name}' on this node; give the range (Jobs:Accounts:FirstDynamicUid, LastDynamicUid) uids no account has");
        }

        EnsureHomes();
        string home = HomeOf(uid);
        Accounts.EnsureHome(home, uid, uid);
        return new ChildAccount(NameOf(uid), uid, uid, [], home);
    });

    /// <summary>The name a uid of an identity's own goes by (USER, LOGNAME, <c>ps</c>).</summary>
    internal static string NameOf(uint uid) => "jobs-" + uid.ToString(CultureInfo.InvariantCulture);

    // Made again (and checked) before each home: in /tmp, where it is by default, a cleaner such as
    // systemd-tmpfiles may remove it while the server runs. 0700 until checked, then 0711: a job
    // passes through to its own home but cannot list the others.
    private void EnsureHomes()
    {
        PrivateDirectory.Ensure(_homes);
        File.SetUnixFileMode(_homes, PassOnly);
    }

    private string HomeOf(uint uid) => Path.Combine(_homes, uid.ToString(CultureInfo.InvariantCulture));
}
