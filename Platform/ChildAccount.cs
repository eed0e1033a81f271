namespace Jobs.Platform;

/// <summary>
/// The Unix account a child runs as, instead of the server's: its user and group ids, its
/// supplementary groups, and the name and home folder its environment gets (<c>USER</c>,
/// <c>LOGNAME</c>, <c>HOME</c>; the home is also its working directory unless the spec names one).
/// A child started this way has no capabilities (its bounding set included) and
/// <c>PR_SET_NO_NEW_PRIVS</c>, so set-user-ID programs and file capabilities give it nothing; its
/// terminal, if it has one, belongs to <see cref="Uid"/>. Switching needs a server that runs as root.
/// </summary>
/// <param name="Name">The account's name, as <c>USER</c> and <c>LOGNAME</c> give it.</param>
/// <param name="Uid">The user id, real, effective and saved alike.</param>
/// <param name="Gid">The primary group id, real, effective and saved alike.</param>
/// <param name="Groups">The supplementary groups; empty for none.</param>
/// <param name="Home">The home folder, as <c>HOME</c> gives it; it must exist.</param>
public sealed record ChildAccount(string Name, uint Uid, uint Gid, IReadOnlyList<uint> Groups, string Home)
{
    /// <summary>At most this many supplementary groups (the shim's own bound, far above any real account's).</summary>
    public const int MaxGroups = 64;
}
