namespace Jobs.Grains;

/// <summary>
/// Who jobs run as (configuration section <c>Jobs:Accounts</c>), on a server that runs as root. An
/// identity the configuration maps to accounts runs as the first by default and may pick another
/// of them (<c>run --user</c>); any other identity runs as a uid of its own, given once from
/// <see cref="FirstDynamicUid"/>..<see cref="LastDynamicUid"/>. Admins may run as any account.
/// </summary>
public sealed class AccountOptions
{
    /// <summary>
    /// Accounts per identity (<c>Jobs:Accounts:Identities:NAME:0=ACCOUNT</c>): user names or <c>UID:GID</c>,
    /// the first the default. The identity is matched exactly (case included), as certificates name it.
    /// Root only where an identity is mapped to it.
    /// </summary>
    public Dictionary<string, string[]> Identities { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The first uid given to identities without a mapping (systemd's range for dynamic users by default).</summary>
    public uint FirstDynamicUid { get; set; } = 61184;

    /// <summary>The last uid given to identities without a mapping.</summary>
    public uint LastDynamicUid { get; set; } = 65519;

    /// <summary>
    /// The folder of homes, for uids of identities' own and accounts without a home folder: the
    /// server's own, mode 0711, each home in it 0700. Outside the data directory (which no job may
    /// enter). By default <see cref="Jobs.Platform.JobAccounts.DefaultHomes"/> (<c>$TMPDIR/jobs-homes-UID</c>).
    /// </summary>
    public string? Homes { get; set; }

    /// <summary>The accounts <paramref name="identity"/> is mapped to (exactly as written), or null.</summary>
    public string[]? Of(string identity)
    {
        foreach (var (name, accounts) in Identities)
        {
            if (string.Equals(name, identity, StringComparison.Ordinal) && accounts.Length > 0)
            {
                return accounts;
            }
        }

        return null;
    }

    /// <summary>Throws <see cref="InvalidOperationException"/> for a range that holds no uid or root's, or a mapping with an empty account.</summary>
    public void Validate()
    {
        if (FirstDynamicUid == 0 || FirstDynamicUid > LastDynamicUid || LastDynamicUid == uint.MaxValue)
        {
            throw new InvalidOperationException(
                $"{JobOptions.Section}:Accounts: FirstDynamicUid ({FirstDynamicUid}) .. LastDynamicUid ({LastDynamicUid}) is no range of uids (1 .. 4294967294, first <= last)");
        }

        foreach (var (identity, accounts) in Identities)
        {
            if (accounts.Any(string.IsNullOrWhiteSpace))
            {
                throw new InvalidOperationException($"{JobOptions.Section}:Accounts:Identities:{identity}: an account is empty");
            }
        }
    }
}
