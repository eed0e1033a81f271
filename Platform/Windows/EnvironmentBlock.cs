using System.Text;

namespace Jobs.Platform.Windows;

/// <summary>A Windows environment block: <c>NAME=VALUE\0</c> entries sorted by name without regard to case, then one more <c>\0</c>.</summary>
public static class EnvironmentBlock
{
    /// <summary><paramref name="inherited"/> (the child's base environment) with <paramref name="overrides"/> on top (names compared without regard to case, as Windows does).</summary>
    /// <exception cref="ArgumentException">A name is empty, holds '=' (after its first character) or NUL, or a value holds NUL.</exception>
    public static string Build(IReadOnlyDictionary<string, string> inherited, IReadOnlyDictionary<string, string>? overrides)
    {
        ArgumentNullException.ThrowIfNull(inherited);
        var merged = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in inherited)
        {
            merged[name] = value;
        }

        foreach (var (name, value) in overrides ?? new Dictionary<string, string>())
        {
            if (ChildEnvironment.CheckVariable(name, value) is { } problem)
            {
                throw new ArgumentException(problem, nameof(overrides));
            }

            merged.Remove(name);
            merged[name] = value;
        }

        var block = new StringBuilder();
        foreach (var (name, value) in merged)
        {
            block.Append(name).Append('=').Append(value).Append('\0');
        }

        return block.Append('\0').ToString();
    }
}
