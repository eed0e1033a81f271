namespace Jobs.Client;

/// <summary>Aligned columns for a person: <c>ps</c> and <c>nodes</c> print their tables through it.</summary>
internal static class TextTable
{
    /// <summary>
    /// The rows (the header first) as lines, each cell padded to its column's width but the last,
    /// which may be long (a command). Cells are escaped here, before the widths are taken: an escape
    /// is wider than what it shows, and cells carry what the server sent.
    /// </summary>
    public static IEnumerable<string> Format(IReadOnlyList<string[]> rows)
    {
        var escaped = rows.Select(r => r.Select(TerminalText.Escape).ToArray()).ToList();
        int[] widths = [.. Enumerable.Range(0, escaped[0].Length).Select(c => escaped.Max(r => r[c].Length))];
        return escaped.Select(r => string.Join("  ", r.Select((cell, c) => c == r.Length - 1 ? cell : cell.PadRight(widths[c]))).TrimEnd());
    }
}
