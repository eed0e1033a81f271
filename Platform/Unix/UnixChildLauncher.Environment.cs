namespace Jobs.Platform.Unix;

// What a job is given to run: its argv and environment, checked before anything is made for it.
internal sealed partial class UnixChildLauncher
{
    // The argv and environment (as NAME=VALUE) of the job, and the PATH its program is looked up in.
    private static (string[] Argv, string[] Envp, string Path) JobArguments(ChildSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (string.IsNullOrEmpty(spec.Command))
        {
            throw new ArgumentException("the command is empty", nameof(spec));
        }

        string[] argv = [spec.Command, .. spec.Args];
        // The base, not the server's environment: that holds the server's secrets and runtime settings.
        var environment = new Dictionary<string, string>(ChildEnvironment.Base(), StringComparer.Ordinal);
        if (spec.Account is { } account)
        {
            // Its own, as a login gives them; a variable the spec sets still wins.
            environment["HOME"] = account.Home;
            environment["USER"] = account.Name;
            environment["LOGNAME"] = account.Name;
        }

        foreach (var (name, value) in spec.Environment ?? new Dictionary<string, string>())
        {
            if (ChildEnvironment.CheckVariable(name, value) is { } problem)
            {
                throw new ArgumentException(problem, nameof(spec));
            }

            environment[name] = value;
        }

        string[] envp = [.. environment.Select(e => $"{e.Key}={e.Value}")];
        foreach (string s in argv)
        {
            if (s.Contains('\0'))
            {
                throw new ArgumentException("arguments cannot contain NUL characters", nameof(spec));
            }
        }

        if ((spec.WorkingDirectory ?? spec.Account?.Home) is { } cwd && !Directory.Exists(cwd))
        {
            throw new ChildStartException(spec.Command, 2, $"working directory '{cwd}' does not exist");
        }

        return (argv, envp, environment["PATH"]);
    }
}
