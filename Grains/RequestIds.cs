namespace Jobs.Grains;

/// <summary>What a client-chosen request id of a Run may be.</summary>
internal static class RequestIds
{
    public const int MaxLength = 128;

    /// <exception cref="InvalidJobSpecException">Too long, or not printable ASCII.</exception>
    public static void Check(string? requestId)
    {
        if (requestId is null)
        {
            return;
        }

        // Printable ASCII only: it is logged and compared byte for byte, and a UUID or any token fits.
        if (requestId.Length > MaxLength || requestId.Any(c => c is < ' ' or > '~'))
        {
            throw new InvalidJobSpecException($"the request id must be at most {MaxLength} printable ASCII characters");
        }
    }
}
