using System.Globalization;
using Jobs.Platform.Unix;

namespace Jobs.Platform;

/// <summary>Makes the <see cref="IJobAccounts"/> of this operating system.</summary>
public static class JobAccounts
{
    /// <summary>The folder under which identities get their homes by default: <c>$TMPDIR/jobs-homes-UID</c>.</summary>
    public static string DefaultHomes { get; } = OperatingSystem.IsWindows()
        ? Path.Combine(Path.GetTempPath(), "jobs-homes")
        : Path.Combine(Path.GetTempPath(), $"jobs-homes-{UserAccount.EffectiveUid}");

    /// <summary>
    /// The accounts of this node. Where it can switch users, <paramref name="homes"/> is made (or
    /// checked) now: the server's own, not writable by others, mode 0711 so that a job can reach its
    /// own home but not list the others.
    /// </summary>
    /// <param name="homes">The folder of homes (<see cref="DefaultHomes"/> when null).</param>
    /// <param name="launcher">The launcher that starts the jobs.</param>
    /// <exception cref="InvalidOperationException">The homes folder is a link, another user's, or writable by others.</exception>
    public static IJobAccounts Create(string? homes, IChildLauncher launcher)
    {
        if (!OperatingSystem.IsLinux())
        {
            return new Fixed("running a job as another Windows account is not supported (a job runs with a restricted token of the server's user)", (Environment.UserName, null));
        }

        var (name, _) = UserAccount.Current();
        uint self = UserAccount.EffectiveUid;
        if (self != 0)
        {
            return new Fixed($"the server runs as uid {self.ToString(CultureInfo.InvariantCulture)} ({name}), not root", (name, self));
        }

        // Only the shim can give up root between fork and exec.
        if (launcher is UnixChildLauncher { Shim: var shim } && !File.Exists(shim))
        {
            return new Fixed($"{shim} is missing", (name, self));
        }

        return new UnixJobAccounts(homes ?? DefaultHomes);
    }

    private sealed class Fixed(string why, (string, uint?) server) : IJobAccounts
    {
        public string? CannotSwitch => why;

        public (string Name, uint? Uid) Server => server;

        public Task<ChildAccount> FindAsync(string account) => throw new InvalidOperationException($"cannot run a job as another user: {why}");

        public Task<ChildAccount> DynamicAsync(uint uid) => FindAsync(uid.ToString(CultureInfo.InvariantCulture));
    }
}
