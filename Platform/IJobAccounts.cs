namespace Jobs.Platform;

/// <summary>
/// The accounts jobs run as on this node: the server's own when it cannot switch users, else
/// accounts of the user database and uids of identities' own, each with a home of its own.
/// Every call may read the user database or make a folder, so each runs off the caller's thread.
/// </summary>
public interface IJobAccounts
{
    /// <summary>Why this node cannot run a job as another user (a server that is not root, Windows); null when it can.</summary>
    string? CannotSwitch { get; }

    /// <summary>The account the server runs as, which runs every job where <see cref="CannotSwitch"/> is set: its name, and its uid (null on Windows).</summary>
    (string Name, uint? Uid) Server { get; }

    /// <summary>
    /// The account <paramref name="account"/> names (a user name, or <c>UID:GID</c>), with its
    /// supplementary groups. Its home is the user database's where that folder exists, else a
    /// folder of its own under the homes folder (made now, 0700).
    /// </summary>
    /// <exception cref="ArgumentException">No such user on this node, or not a name nor <c>UID:GID</c>.</exception>
    /// <exception cref="InvalidOperationException">The home cannot be made.</exception>
    Task<ChildAccount> FindAsync(string account);

    /// <summary>
    /// The account of a uid given to an identity (<c>jobs-UID</c>, its group of the same number, no
    /// supplementary groups, a home of its own under the homes folder, made now, 0700).
    /// </summary>
    /// <exception cref="InvalidOperationException">The user database of this node has an account with this uid (the range overlaps it), or the home cannot be made.</exception>
    Task<ChildAccount> DynamicAsync(uint uid);
}
