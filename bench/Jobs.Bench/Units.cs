using System.Globalization;

namespace Jobs.Bench;

/// <summary>Parsing and printing of sizes, rates and durations. MB and GB are 10^6 and 10^9 bytes; K, M, G suffixes of sizes are 1024-based.</summary>
internal static class Units
{
    public const long KiB = 1024;
    public const long MiB = 1024 * KiB;
    public const long GiB = 1024 * MiB;

    /// <summary>A byte count with an optional K, M or G (1024-based) suffix, as <c>TestChild flood</c> takes it.</summary>
    public static bool TryParseSize(string text, out long value)
    {
        value = 0;
        var digits = text.AsSpan().Trim();
        long multiplier = 1;
        if (digits.Length > 0)
        {
            int shift = char.ToUpperInvariant(digits[^1]) switch { 'K' => 10, 'M' => 20, 'G' => 30, _ => 0 };
            if (shift != 0)
            {
                multiplier = 1L << shift;
                digits = digits[..^1];
            }
        }

        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long number) || number > long.MaxValue / multiplier)
        {
            return false;
        }

        value = number * multiplier;
        return true;
    }

    /// <summary>"1 GiB", "64 MiB", "64 KiB" when exact, otherwise the plain byte count.</summary>
    public static string Size(long bytes) => bytes switch
    {
        >= GiB when bytes % GiB == 0 => $"{bytes / GiB} GiB",
        >= MiB when bytes % MiB == 0 => $"{bytes / MiB} MiB",
        >= KiB when bytes % KiB == 0 => $"{bytes / KiB} KiB",
        _ => $"{bytes} B",
    };

    public static string MB(double bytes) => $"{bytes / 1e6:F1} MB";

    public static string MBps(double bytesPerSecond) => $"{bytesPerSecond / 1e6:F1} MB/s";

    public static string GBps(double bytesPerSecond) => $"{bytesPerSecond / 1e9:F3} GB/s";

    public static string Seconds(TimeSpan time) => $"{time.TotalSeconds:F3} s";

    public static string Millis(TimeSpan time) => $"{time.TotalMilliseconds:F2} ms";

    public static double Rate(long bytes, TimeSpan time) => time > TimeSpan.Zero ? bytes / time.TotalSeconds : double.PositiveInfinity;

    public static string Ratio(double ratio) => double.IsFinite(ratio) ? $"{ratio:F3}" : "n/a";

    public static string Percentile(IReadOnlyList<TimeSpan> sorted, double p) =>
        sorted.Count == 0 ? "n/a" : Millis(sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)]);

    public static TimeSpan PercentileValue(IReadOnlyList<TimeSpan> sorted, double p) =>
        sorted.Count == 0 ? TimeSpan.Zero : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
