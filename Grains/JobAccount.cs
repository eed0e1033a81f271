namespace Jobs.Grains;

/// <summary>Which account a job runs as, decided from the configuration alone, before anything is looked up on the node.</summary>
internal abstract record JobAccount
{
    private JobAccount()
    {
    }

    /// <summary>The server's own user: it cannot switch, or the caller is inside the cluster (no identity).</summary>
    public sealed record Server : JobAccount;

    /// <summary>An account of the user database, or <c>UID:GID</c>.</summary>
    public sealed record Named(string Account) : JobAccount;

    /// <summary>The uid of the owner's own.</summary>
    public sealed record Dynamic : JobAccount;

    /// <summary>The account of a job of <paramref name="spec"/>'s owner.</summary>
    /// <param name="cannotSwitch">Why the node cannot run jobs as other users, or null.</param>
    /// <exception cref="AccountNotAllowedException">It asks for an account its owner is not mapped to, and the owner is no admin.</exception>
    /// <exception cref="AccountUnavailableException">It asks for an account on a node that cannot switch users.</exception>
    public static JobAccount Choose(AccountOptions options, JobSpec spec, string? cannotSwitch)
    {
        string? asked = string.IsNullOrEmpty(spec.User) ? null : spec.User;
        if (cannotSwitch is not null)
        {
            return asked is null
                ? new Server()
                : throw new AccountUnavailableException($"cannot run the job as '{asked}': {cannotSwitch}, so every job runs as the server's user; run it without --user");
        }

        // Callers inside the cluster (tests, tools) are the cluster's own.
        if (spec.Owner.Length == 0)
        {
            return asked is null ? new Server() : new Named(asked);
        }

        string[]? mapped = options.Of(spec.Owner);
        if (asked is null)
        {
            return mapped is null ? new Dynamic() : new Named(mapped[0]);
        }

        if (spec.OwnerIsAdmin || (mapped?.Contains(asked, StringComparer.Ordinal) ?? false))
        {
            return new Named(asked);
        }

        string own = mapped is null ? "no account (its jobs run as a uid of its own)" : string.Join(", ", mapped.Select(a => $"'{a}'"));
        throw new AccountNotAllowedException(
            $"'{spec.Owner}' may not run jobs as '{asked}': the server's configuration maps it to {own} (Jobs:Accounts:Identities), and only admins may run as any account");
    }
}
