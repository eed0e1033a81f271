using System.Buffers;
using Jobs.TestChild;

namespace Jobs.TestSupport;

/// <summary>
/// Checks received bytes against <see cref="Pattern"/> by comparing spans. The pattern repeats every
/// 251 × 2048 bytes (both of its terms do), so one precomputed copy of two periods serves any offset;
/// that is checked against <see cref="Pattern.Fill"/> at start, and the checker falls back to filling
/// per chunk if the pattern ever stops being periodic.
/// </summary>
public static class PatternChecker
{
    private const int Period = 251 * 2048;
    private static readonly byte[] s_expected = Build();
    private static readonly bool s_periodic = SelfCheck();

    public static string Method => s_periodic ? "span compare against a precomputed period of Pattern" : "span compare against Pattern.Fill per chunk";

    /// <summary>True when <paramref name="data"/> is the pattern from <paramref name="offset"/>; otherwise the first differing offset.</summary>
    public static bool Matches(long offset, ReadOnlySpan<byte> data, out long mismatchAt)
    {
        mismatchAt = -1;
        return s_periodic ? MatchesPeriodic(offset, data, ref mismatchAt) : MatchesFilled(offset, data, ref mismatchAt);
    }

    private static bool MatchesPeriodic(long offset, ReadOnlySpan<byte> data, ref long mismatchAt)
    {
        while (!data.IsEmpty)
        {
            int start = (int)(offset % Period);
            int count = Math.Min(data.Length, Period);
            var expected = s_expected.AsSpan(start, count);
            if (!data[..count].SequenceEqual(expected))
            {
                mismatchAt = offset + data[..count].CommonPrefixLength(expected);
                return false;
            }

            data = data[count..];
            offset += count;
        }

        return true;
    }

    private static bool MatchesFilled(long offset, ReadOnlySpan<byte> data, ref long mismatchAt)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Min(data.Length, 1 << 20));
        try
        {
            while (!data.IsEmpty)
            {
                int count = Math.Min(data.Length, buffer.Length);
                var expected = buffer.AsSpan(0, count);
                Pattern.Fill(offset, expected);
                if (!data[..count].SequenceEqual(expected))
                {
                    mismatchAt = offset + data[..count].CommonPrefixLength(expected);
                    return false;
                }

                data = data[count..];
                offset += count;
            }

            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static byte[] Build()
    {
        var expected = new byte[2 * Period];
        Pattern.Fill(0, expected);
        return expected;
    }

    private static bool SelfCheck()
    {
        var buffer = new byte[100_000];
        foreach (long offset in new[] { 0L, Period - 3, 5L * Period + 777, 3L * 1024 * 1024 * 1024 + 12_345, (1L << 40) + 4321 })
        {
            Pattern.Fill(offset, buffer);
            long ignored = -1;
            if (!MatchesPeriodic(offset, buffer, ref ignored))
            {
                return false;
            }
        }

        return true;
    }
}
