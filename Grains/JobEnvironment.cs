using Jobs.Platform;

namespace Jobs.Grains;

/// <summary>
/// What a job's environment is made of, each layer replacing what the one before set: the base
/// the launcher gives every child (PATH, LANG, HOME, USER), the server's variables named in
/// <c>Jobs:PassEnvironment</c>, <c>Jobs:Environment</c>, what the caller asked for (<c>run --env</c>),
/// and <see cref="JobIdVariable"/>, which nobody else may set.
/// </summary>
internal static class JobEnvironment
{
    /// <summary>The variable that holds the job's own id.</summary>
    public const string JobIdVariable = "JOBS_JOB_ID";

    /// <summary>The variables to set on top of the base environment.</summary>
    /// <exception cref="InvalidJobSpecException">The caller asked to set <see cref="JobIdVariable"/>, or a variable no process can have (an empty name, '=' or NUL in it, NUL in its value).</exception>
    public static Dictionary<string, string> Compose(JobOptions options, IReadOnlyDictionary<string, string>? requested, string jobId)
    {
        ArgumentNullException.ThrowIfNull(options);
        var variables = new Dictionary<string, string>(ChildEnvironment.FromServer(options.PassEnvironment), ChildEnvironment.NameComparer);
        foreach (var (name, value) in options.Environment)
        {
            variables[name] = value;
        }

        foreach (var (name, value) in requested ?? new Dictionary<string, string>())
        {
            // Before anything is started: a name with '=' or NUL would set another variable, or none.
            if (ChildEnvironment.CheckVariable(name, value) is { } problem)
            {
                throw new InvalidJobSpecException(problem);
            }

            // Refused rather than ignored: a job must be able to trust it, and the caller to see why it is not theirs.
            if (ChildEnvironment.NameComparer.Equals(name, JobIdVariable))
            {
                throw new InvalidJobSpecException($"{JobIdVariable} is set by the server (the job's id)");
            }

            variables[name] = value;
        }

        variables[JobIdVariable] = jobId;
        return variables;
    }
}
