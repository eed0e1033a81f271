namespace Jobs.Silo.Security;

/// <summary>A secret the server reads from a file of its user's own, rather than from its command line.</summary>
public static class SecretFile
{
    /// <summary>The first line of <paramref name="path"/>, without its line ending.</summary>
    /// <param name="path">The file.</param>
    /// <param name="setting">The setting that names it, for messages.</param>
    /// <exception cref="InvalidOperationException">It is missing, empty, or others may read or write it.</exception>
    public static string ReadFirstLine(string path, string setting)
    {
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{setting} '{path}' does not exist or is not a file");
        }

        if (FileModes.OpenToOthers(path) is { } octal)
        {
            throw new InvalidOperationException($"{setting} '{path}' can be read or written by other users (mode {octal}); run 'chmod 600 {path}'");
        }

        string first;
        try
        {
            using var reader = new StreamReader(path);
            first = reader.ReadLine() ?? string.Empty;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"cannot read {setting} '{path}': {e.Message}", e);
        }

        return first.Length > 0 ? first : throw new InvalidOperationException($"{setting} '{path}' is empty; its first line is the secret");
    }
}
