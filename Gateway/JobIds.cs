namespace Jobs.Gateway;

/// <summary>Job ids: UUIDv7 strings, created once here and used as the grain key and the stream key.</summary>
public static class JobIds
{
    /// <summary>A new job id, lowercase and hyphenated; ids sort by creation time.</summary>
    public static string New() => Guid.CreateVersion7().ToString("D");

    /// <summary>The canonical form of a job id given by a caller.</summary>
    /// <exception cref="InvalidJobIdException">The text is not a UUIDv7.</exception>
    public static string Parse(string text)
    {
        if (!Guid.TryParseExact(text, "D", out var id) || id.Version != 7)
        {
            throw new InvalidJobIdException($"'{Shorten(text)}' is not a job id (a UUIDv7 such as 019365c8-7571-79f2-8991-9be713d63d56)");
        }

        return id.ToString("D");
    }

    private static string Shorten(string text) => text.Length <= 64 ? text : text[..64] + "...";
}
