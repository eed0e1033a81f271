using Google.Protobuf.WellKnownTypes;
using Jobs.Grains;
using Jobs.Platform;
using Jobs.Protos;

namespace Jobs.Gateway.Services;

/// <summary>
/// What a Run request's fields must be, checked before a node is picked or a grain is called, so a
/// bad request starts nothing anywhere. What only the job's node can know (that the working
/// directory exists there, that the program can be started) is that node's to refuse.
/// </summary>
internal static class RunRequestChecks
{
    // What a message quotes of the caller's text: enough to recognise it, never the whole of a huge field.
    private const int Shown = 80;

    // Far above any real user name (glibc's LOGIN_NAME_MAX is 256).
    private const int MaxUser = 256;

    // google.protobuf.Duration's range: about ±10,000 years.
    private const long MaxDurationSeconds = 315_576_000_000;

    /// <exception cref="InvalidJobSpecException">A field holds what no job can be given (INVALID_ARGUMENT).</exception>
    public static void Check(RunRequest request)
    {
        // The OS takes these as C strings: a NUL would cut the text short, running something other than what was asked.
        if (request.Command.Contains('\0'))
        {
            throw new InvalidJobSpecException("the command holds a NUL character");
        }

        for (int i = 0; i < request.Args.Count; i++)
        {
            if (request.Args[i].Contains('\0'))
            {
                throw new InvalidJobSpecException($"argument {i + 1} holds a NUL character");
            }
        }

        foreach (var (name, value) in request.Env)
        {
            if (ChildEnvironment.CheckVariable(name, value) is { } problem)
            {
                throw new InvalidJobSpecException($"environment: {Show(problem)}");
            }
        }

        if (request.Cwd.Length > 0)
        {
            if (request.Cwd.Contains('\0'))
            {
                throw new InvalidJobSpecException("the working directory holds a NUL character");
            }

            // Relative to what the caller cannot see or choose: the server process's own directory.
            if (!Path.IsPathFullyQualified(request.Cwd))
            {
                throw new InvalidJobSpecException($"the working directory '{Show(request.Cwd)}' is a relative path; give an absolute one");
            }
        }

        // A user name, or UID:GID: the user database's names are short, and never hold a NUL.
        if (request.User.Length > MaxUser || request.User.Contains('\0'))
        {
            throw new InvalidJobSpecException($"the user '{Show(request.User)}' is no account: a user name or UID:GID of at most {MaxUser} characters");
        }

        if (request.Timeout is { } timeout && !IsValid(timeout))
        {
            throw new InvalidJobSpecException($"the timeout ({timeout.Seconds} s, {timeout.Nanos} ns) is not a valid google.protobuf.Duration");
        }
    }

    // Duration.ToTimeSpan throws for these (an INTERNAL error), so they are refused first.
    private static bool IsValid(Duration duration) =>
        duration.Seconds is >= -MaxDurationSeconds and <= MaxDurationSeconds
        && duration.Nanos is > -Duration.NanosecondsPerSecond and < Duration.NanosecondsPerSecond
        && (duration.Seconds == 0 || duration.Nanos == 0 || (duration.Seconds < 0) == (duration.Nanos < 0));

    private static string Show(string text) => text.Length <= Shown ? text : text[..Shown] + "...";
}
