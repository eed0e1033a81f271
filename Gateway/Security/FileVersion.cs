namespace Jobs.Gateway.Security;

/// <summary>What a stat of a file says, to notice a change without reading it.</summary>
internal readonly record struct FileVersion(bool Exists, DateTime WrittenUtc, long Length)
{
    public static FileVersion Of(string path)
    {
        var file = new FileInfo(path);
        return file.Exists ? new FileVersion(true, file.LastWriteTimeUtc, file.Length) : default;
    }
}
