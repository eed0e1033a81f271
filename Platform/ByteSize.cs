using System.Globalization;

namespace Jobs.Platform;

/// <summary>
/// Sizes and rates as people write them: <c>512M</c>, <c>1.5G</c>, <c>64KiB</c>, <c>10mb</c>, or
/// plain bytes. Suffixes are binary, as with systemd and docker: 1K is 1024 bytes.
/// Shared by the server's configuration and the CLI (linked into Client).
/// </summary>
public static class ByteSize
{
    private static readonly (string Suffix, long Factor)[] Units =
    [
        ("t", 1L << 40), ("g", 1L << 30), ("m", 1L << 20), ("k", 1L << 10), ("b", 1), (string.Empty, 1),
    ];

    /// <summary>Parses a size; false for anything else, including zero, negative and overflowing sizes.</summary>
    public static bool TryParse(string? text, out long bytes)
    {
        bytes = 0;
        string value = (text ?? string.Empty).Trim().ToLowerInvariant();
        foreach (string tail in new[] { "ib", "b" })
        {
            if (value.Length > tail.Length && value.EndsWith(tail, StringComparison.Ordinal) && char.IsLetter(value[^(tail.Length + 1)]))
            {
                value = value[..^tail.Length];
                break;
            }
        }

        foreach (var (suffix, factor) in Units)
        {
            if (value.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(value[..^suffix.Length], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double number))
            {
                double total = Math.Round(number * factor);
                if (total < 1 || total > long.MaxValue / 2)
                {
                    return false;
                }

                bytes = (long)total;
                return true;
            }
        }

        return false;
    }

    /// <summary>A size for people: <c>512 MiB</c>, <c>1.5 GiB</c>, <c>100 B</c>.</summary>
    public static string Format(long bytes)
    {
        var (value, unit) = Scale(bytes);
        return string.Create(CultureInfo.InvariantCulture, $"{value:0.##} {Names[unit]}");
    }

    /// <summary>A size for a table cell, without spaces: <c>812K</c>, <c>64.2M</c>, <c>1.5G</c>.</summary>
    public static string FormatCompact(long bytes)
    {
        var (value, unit) = Scale(bytes);
        return string.Create(CultureInfo.InvariantCulture, $"{value:0.#}{Names[unit][0]}");
    }

    private static readonly string[] Names = ["B", "KiB", "MiB", "GiB", "TiB"];

    // The size in the largest binary unit it reaches, and that unit's index in Names.
    private static (double Value, int Unit) Scale(long bytes)
    {
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < Names.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return (value, unit);
    }
}
