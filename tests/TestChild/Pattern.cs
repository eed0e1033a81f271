namespace Jobs.TestChild;

/// <summary>
/// The byte stream written by <c>flood</c>. Public so tests can compute the expected output.
/// Modulo the prime 251 plus a term that steps every 2 KiB keeps it from repeating at any
/// power-of-two boundary, so lost, duplicated or reordered chunks show up as mismatches.
/// </summary>
public static class Pattern
{
    private const int Modulus = 251;
    private const int Step = 131;
    private const int BlockShift = 11;
    private const int BlockStep = 7;
    private const int Offset = 17;
    private const int BlockSize = 1 << BlockShift;
    private const long BlockMask = BlockSize - 1;

    private static readonly byte[] s_cycle = BuildCycle();
    private static readonly byte[] s_cycleIndexOf = BuildCycleIndex();

    /// <summary>The byte at <paramref name="offset"/>: <c>(offset*131 + (offset&gt;&gt;11)*7 + 17) mod 251</c>.</summary>
    public static byte At(long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        // Reduce each term first so the products cannot overflow for any non-negative long.
        return (byte)(((offset % Modulus) * Step + ((offset >> BlockShift) % Modulus) * BlockStep + Offset) % Modulus);
    }

    /// <summary>Fills <paramref name="destination"/> with the bytes starting at <paramref name="offset"/>.</summary>
    public static void Fill(long offset, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);

        // Within one 2 KiB block the bytes are (At(blockStart) + 131*i) mod 251, i.e. a run of
        // the cycle (131*k) mod 251 entered at a known k; copying runs instead of computing
        // every byte keeps multi-GiB floods (and the tests checking them) cheap.
        var position = offset;
        while (!destination.IsEmpty)
        {
            var start = s_cycleIndexOf[At(position)];
            var count = (int)Math.Min(destination.Length, BlockSize - (position & BlockMask));
            s_cycle.AsSpan(start, count).CopyTo(destination);
            destination = destination[count..];
            position += count;
        }
    }

    private static byte[] BuildCycle()
    {
        // Long enough for a run to start anywhere in the cycle and span a whole block.
        var cycle = new byte[Modulus + BlockSize];
        for (var k = 0; k < cycle.Length; k++)
        {
            cycle[k] = (byte)(k * Step % Modulus);
        }
        return cycle;
    }

    private static byte[] BuildCycleIndex()
    {
        // 131 is invertible mod 251, so every value occurs exactly once in one cycle.
        var index = new byte[Modulus];
        for (var k = 0; k < Modulus; k++)
        {
            index[k * Step % Modulus] = (byte)k;
        }
        return index;
    }
}
