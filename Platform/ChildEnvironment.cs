namespace Jobs.Platform;

/// <summary>
/// The environment a child starts with. Not the server's own, which holds its secrets and the
/// settings of its runtime (<c>ASPNETCORE_*</c>, <c>DOTNET_*</c>, <c>Orleans__*</c>), but a small
/// base, as systemd gives a service: what programs need to find each other and their user.
/// </summary>
public static class ChildEnvironment
{
    /// <summary>The <c>PATH</c> of a child when the server has none: systemd's for system services.</summary>
    public const string DefaultUnixPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    // Windows: variables that describe the machine and the user rather than the server, the ones
    // CreateEnvironmentBlock gives every logon. Programs break without them: Winsock and the crypto
    // providers need SystemRoot, cmd needs ComSpec and PATHEXT, GetTempPath reads TMP and TEMP,
    // runtimes and installers read the profile folders.
    private static readonly string[] s_windowsBase =
    [
        "Path", "PATHEXT", "SystemRoot", "windir", "SystemDrive", "ComSpec", "TEMP", "TMP", "USERNAME", "USERDOMAIN",
        "USERPROFILE", "APPDATA", "LOCALAPPDATA", "ProgramData", "ProgramFiles", "NUMBER_OF_PROCESSORS", "PROCESSOR_ARCHITECTURE", "OS",
    ];

    // The server's user does not change while it runs: one look-up in the user database, not one per job.
    private static readonly Lazy<(string Name, string Home)> s_user = new(() => Unix.UserAccount.Current());

    /// <summary>How this OS compares variable names: exactly on Unix, without regard to case on Windows.</summary>
    public static StringComparer NameComparer { get; } = OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;

    /// <summary>
    /// The variables every child gets. Unix: <c>PATH</c> (the server's, else <see cref="DefaultUnixPath"/>),
    /// <c>LANG</c> (the server's, else <c>C.UTF-8</c>), <c>HOME</c> and <c>USER</c> of the user the
    /// server runs as. Windows: those of the machine and the user, copied from the server's environment
    /// where set (<c>Path</c>, <c>SystemRoot</c>, <c>windir</c>, <c>TEMP</c>, <c>TMP</c>, <c>USERNAME</c>,
    /// <c>USERPROFILE</c> and the like).
    /// </summary>
    public static IReadOnlyDictionary<string, string> Base()
    {
        var variables = new Dictionary<string, string>(NameComparer);
        if (OperatingSystem.IsWindows())
        {
            foreach (var (name, value) in FromServer(s_windowsBase))
            {
                variables[name] = value;
            }

            return variables;
        }

        variables["PATH"] = ServerValue("PATH") ?? DefaultUnixPath;
        variables["LANG"] = ServerValue("LANG") ?? "C.UTF-8";
        var (user, home) = s_user.Value;
        variables["HOME"] = home;
        variables["USER"] = user;
        return variables;
    }

    /// <summary>Those of <paramref name="names"/> that are set (and not empty) in the server's own environment, with their values.</summary>
    public static IReadOnlyDictionary<string, string> FromServer(IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var variables = new Dictionary<string, string>(NameComparer);
        foreach (string name in names)
        {
            if (ServerValue(name) is { } value)
            {
                variables[name] = value;
            }
        }

        return variables;
    }

    /// <summary>Why <paramref name="name"/> cannot be the name of a variable, or null when it can.</summary>
    public static string? CheckName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0)
        {
            return "a variable name cannot be empty";
        }

        // Windows keeps per-drive variables such as "=C:", so there only a later '=' is refused.
        int equals = name.IndexOf('=', OperatingSystem.IsWindows() ? 1 : 0);
        if (equals >= 0 || name.Contains('\0'))
        {
            return $"'{name.Replace("\0", "\\0", StringComparison.Ordinal)}' cannot be a variable name (it holds '=' or NUL)";
        }

        return null;
    }

    /// <summary>Why <paramref name="name"/>=<paramref name="value"/> cannot be set for a child (see <see cref="CheckName"/>; a value cannot hold NUL), or null when it can.</summary>
    public static string? CheckVariable(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return CheckName(name) ?? (value.Contains('\0') ? $"the value of '{name}' holds a NUL character" : null);
    }

    private static string? ServerValue(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
}
