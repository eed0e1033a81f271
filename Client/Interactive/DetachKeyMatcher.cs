namespace Jobs.Client.Interactive;

/// <summary>
/// Finds the detach sequence in what the person types. Bytes that start the sequence are held
/// back until the next key tells; when it does not continue the sequence they are passed on
/// after all (Ctrl+P then x sends both), so that every other byte reaches the job as typed.
/// </summary>
internal sealed class DetachKeyMatcher(byte[] sequence)
{
    // How many bytes of the sequence are held: always its first ones.
    private int _matched;

    /// <summary>
    /// Appends to <paramref name="pass"/> the bytes of <paramref name="input"/> (and held ones)
    /// that go to the job; true when the sequence is complete, and then nothing after it is passed.
    /// </summary>
    public bool Feed(ReadOnlySpan<byte> input, List<byte> pass)
    {
        foreach (byte b in input)
        {
            if (Step(b, pass))
            {
                return true;
            }
        }

        return false;
    }

    private bool Step(byte b, List<byte> pass)
    {
        if (b == sequence[_matched])
        {
            _matched++;
            if (_matched < sequence.Length)
            {
                return false;
            }

            _matched = 0;
            return true;
        }

        if (_matched == 0)
        {
            pass.Add(b);
            return false;
        }

        // Not the sequence here: the first held byte goes out, and the rest with this one may
        // still start it (ctrl-a,ctrl-a,x typed as ctrl-a ctrl-a ctrl-a x).
        int held = _matched;
        pass.Add(sequence[0]);
        _matched = 0;
        for (int i = 1; i < held; i++)
        {
            if (Step(sequence[i], pass))
            {
                return true;
            }
        }

        return Step(b, pass);
    }
}
