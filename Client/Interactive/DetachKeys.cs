namespace Jobs.Client.Interactive;

/// <summary>
/// The key sequence that detaches from a job's terminal, written as docker writes it:
/// <c>ctrl-p,ctrl-q</c> (the default), each key <c>ctrl-</c> followed by one of <c>a-z @ [ \ ] ^ _</c>,
/// or a single character, comma separated.
/// </summary>
internal static class DetachKeys
{
    public const string Default = "ctrl-p,ctrl-q";

    private const string ControlPrefix = "ctrl-";

    /// <summary>The bytes a terminal sends for <paramref name="text"/>.</summary>
    /// <exception cref="CliException">With <see cref="ExitCodes.Usage"/> for a key that is neither.</exception>
    public static byte[] Parse(string text)
    {
        // As docker does: an empty value means the default, not "no detach keys".
        if (string.IsNullOrEmpty(text))
        {
            text = Default;
        }

        var keys = text.Split(',');
        var bytes = new byte[keys.Length];
        for (int i = 0; i < keys.Length; i++)
        {
            bytes[i] = ParseKey(keys[i], text);
        }

        return bytes;
    }

    private static byte ParseKey(string key, string text)
    {
        if (key.Length == 1 && key[0] is > ' ' and < (char)0x7f)
        {
            return (byte)key[0];
        }

        if (key.Length == ControlPrefix.Length + 1 && key.StartsWith(ControlPrefix, StringComparison.OrdinalIgnoreCase))
        {
            char c = char.ToLowerInvariant(key[^1]);
            if (c is >= 'a' and <= 'z')
            {
                return (byte)(c - 'a' + 1);
            }

            // ctrl-@ is NUL, ctrl-[ ESC, then ctrl-\ ctrl-] ctrl-^ ctrl-_ as a terminal sends them.
            int index = "@[\\]^_".IndexOf(c, StringComparison.Ordinal);
            if (index >= 0)
            {
                return (byte)(index == 0 ? 0 : 0x1a + index);
            }
        }

        throw new CliException(ExitCodes.Usage, $"invalid --detach-keys '{text}': '{key}' is not ctrl-<a-z, @, [, \\, ], ^ or _> nor a single character");
    }
}
