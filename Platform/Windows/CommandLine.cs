using System.Text;

namespace Jobs.Platform.Windows;

/// <summary>
/// Builds a Windows command line that <c>CommandLineToArgvW</c> (and the C runtime) splits back into
/// exactly the given arguments: Windows passes one string, and each program splits it itself.
/// </summary>
public static class CommandLine
{
    /// <summary>The program, then each argument, quoted where needed.</summary>
    /// <exception cref="ArgumentException">The program name holds a quote, or any string a NUL.</exception>
    public static string Build(string program, IEnumerable<string> args)
    {
        // The first token is read without escapes: up to the next quote when quoted, else up to white space.
        if (program.Contains('"') || program.Contains('\0'))
        {
            throw new ArgumentException("a program name on Windows cannot contain quotes or NUL characters", nameof(program));
        }

        var line = new StringBuilder();
        line.Append(program.Length == 0 || program.Any(IsSpace) ? $"\"{program}\"" : program);
        foreach (string arg in args)
        {
            line.Append(' ');
            Append(line, arg);
        }

        return line.ToString();
    }

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\v';

    private static void Append(StringBuilder line, string arg)
    {
        if (arg.Contains('\0'))
        {
            throw new ArgumentException("arguments cannot contain NUL characters", nameof(arg));
        }

        if (arg.Length > 0 && !arg.Any(c => IsSpace(c) || c == '"'))
        {
            line.Append(arg);
            return;
        }

        // Inside quotes, backslashes are literal unless they precede a quote: then 2n backslashes
        // stand for n, and 2n+1 for n and a literal quote. So double the backslashes before a quote
        // and before the closing quote, and escape each quote.
        line.Append('"');
        int backslashes = 0;
        foreach (char c in arg)
        {
            if (c == '\\')
            {
                backslashes++;
                continue;
            }

            if (c == '"')
            {
                line.Append('\\', (2 * backslashes) + 1).Append('"');
            }
            else
            {
                line.Append('\\', backslashes).Append(c);
            }

            backslashes = 0;
        }

        line.Append('\\', 2 * backslashes).Append('"');
    }

    /// <summary>
    /// Splits a command line as <c>CommandLineToArgvW</c> does (post-2008 rules); the inverse of
    /// <see cref="Build"/>, used to check it.
    /// </summary>
    public static IReadOnlyList<string> Split(string line)
    {
        var args = new List<string>();
        int i = 0;

        // The program: up to the closing quote if quoted, else to white space; no escapes.
        var program = new StringBuilder();
        if (i < line.Length && line[i] == '"')
        {
            i++;
            while (i < line.Length && line[i] != '"')
            {
                program.Append(line[i++]);
            }

            i++;
        }
        else
        {
            while (i < line.Length && !IsSpace(line[i]))
            {
                program.Append(line[i++]);
            }
        }

        args.Add(program.ToString());
        while (true)
        {
            while (i < line.Length && IsSpace(line[i]))
            {
                i++;
            }

            if (i >= line.Length)
            {
                return args;
            }

            var arg = new StringBuilder();
            bool quoted = false;
            while (i < line.Length && (quoted || !IsSpace(line[i])))
            {
                int backslashes = 0;
                while (i < line.Length && line[i] == '\\')
                {
                    backslashes++;
                    i++;
                }

                if (i < line.Length && line[i] == '"')
                {
                    arg.Append('\\', backslashes / 2);
                    if (backslashes % 2 == 1)
                    {
                        arg.Append('"');
                    }
                    else if (quoted && i + 1 < line.Length && line[i + 1] == '"')
                    {
                        // A doubled quote inside quotes is a literal quote.
                        arg.Append('"');
                        i++;
                    }
                    else
                    {
                        quoted = !quoted;
                    }

                    i++;
                }
                else
                {
                    arg.Append('\\', backslashes);
                    if (i < line.Length && (quoted || !IsSpace(line[i])))
                    {
                        arg.Append(line[i++]);
                    }
                }
            }

            args.Add(arg.ToString());
        }
    }
}
