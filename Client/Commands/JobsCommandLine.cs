using System.CommandLine;

namespace Jobs.Client.Commands;

/// <summary>Parses a <c>jobs</c> command line.</summary>
internal static class JobsCommandLine
{
    private const string DoubleDash = "--";

    // "@file" is an ordinary job argument, not a response file to expand.
    private static readonly ParserConfiguration Configuration = new() { ResponseFileTokenReplacer = null };

    public static ParseResult Parse(RootCommand root, IReadOnlyList<string> args) =>
        root.Parse(SeparateJobCommand(root, args), Configuration);

    /// <summary>
    /// Inserts "--" before the job's program in <c>jobs ... run ... COMMAND ARGS...</c>, so that
    /// System.CommandLine takes every later token as a job argument: otherwise it would take
    /// <c>-h</c> or <c>--endpoint x</c> for its own and refuse options it does not know.
    /// </summary>
    /// <remarks>
    /// Tokens are matched the way System.CommandLine matches them: options of the current verb and
    /// recursive options of its parents, valued options consuming the next token unless written
    /// <c>--name=value</c> or <c>--name:value</c>. The line is left alone if it already has "--",
    /// has no <c>run</c>, or has a token that this walk cannot place (the parser then reports it).
    /// </remarks>
    internal static IReadOnlyList<string> SeparateJobCommand(Command root, IReadOnlyList<string> args)
    {
        var command = root;
        var inherited = new List<Option>();

        for (var i = 0; i < args.Count; i++)
        {
            var token = args[i];
            if (token == DoubleDash)
            {
                return args;
            }

            if (FindOption(command, inherited, token) is { } option)
            {
                if (option.Arity.MinimumNumberOfValues > 0 && !HasInlineValue(command, inherited, token))
                {
                    i++;
                }

                continue;
            }

            if (Bundle(command, inherited, token) is { } valueFollows)
            {
                if (valueFollows)
                {
                    i++;
                }

                continue;
            }

            if (token.StartsWith('-'))
            {
                return args;
            }

            if (command is RunCommand)
            {
                return [.. args.Take(i), DoubleDash, .. args.Skip(i)];
            }

            var subcommand = command.Subcommands.FirstOrDefault(c => c.Name == token || c.Aliases.Contains(token));
            if (subcommand is null)
            {
                return args;
            }

            inherited.AddRange(command.Options.Where(o => o.Recursive));
            command = subcommand;
        }

        return args;
    }

    /// <summary>
    /// For a token of bundled one-letter options (<c>-it</c>, <c>-itd</c>, <c>-ie NAME=VALUE</c>), as
    /// System.CommandLine takes them: whether the next token is the last option's value; null when
    /// the token is not such a bundle. An option with a value before the bundle's end takes the rest
    /// of the token as its value.
    /// </summary>
    private static bool? Bundle(Command command, List<Option> inherited, string token)
    {
        if (token.Length < 3 || token[0] != '-' || token[1] == '-')
        {
            return null;
        }

        for (int j = 1; j < token.Length; j++)
        {
            if (MatchOption(command, inherited, "-" + token[j]) is not { } option)
            {
                return null;
            }

            if (option.Arity.MinimumNumberOfValues > 0)
            {
                return j == token.Length - 1;
            }
        }

        return false;
    }

    private static Option? FindOption(Command command, List<Option> inherited, string token) =>
        MatchOption(command, inherited, token) ?? (SplitInlineValue(token) is { } name ? MatchOption(command, inherited, name) : null);

    private static bool HasInlineValue(Command command, List<Option> inherited, string token) =>
        MatchOption(command, inherited, token) is null;

    private static Option? MatchOption(Command command, List<Option> inherited, string name) =>
        command.Options.Concat(inherited).FirstOrDefault(o => o.Name == name || o.Aliases.Contains(name));

    private static string? SplitInlineValue(string token)
    {
        var delimiter = token.IndexOfAny(['=', ':']);
        return delimiter > 0 ? token[..delimiter] : null;
    }
}
