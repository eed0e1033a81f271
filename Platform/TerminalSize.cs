namespace Jobs.Platform;

/// <summary>The size of a terminal in character cells, as <c>TIOCSWINSZ</c> and <c>COORD</c> take it.</summary>
/// <param name="Rows">Lines (1-65535).</param>
/// <param name="Columns">Columns (1-65535).</param>
public readonly record struct TerminalSize(int Rows, int Columns)
{
    /// <summary>The largest rows and columns a terminal size may have.</summary>
    public const int Max = ushort.MaxValue;

    /// <summary>Whether both figures are within 1-<see cref="Max"/>.</summary>
    public bool IsValid => Rows is >= 1 and <= Max && Columns is >= 1 and <= Max;
}
