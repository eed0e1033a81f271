namespace Jobs.Platform.Unix;

/// <summary>A child's stdin as <see cref="UnixChild"/> ends it.</summary>
internal interface IUnixInput : IChildInput
{
    /// <summary>The child's tree is gone: whatever waits is dropped and nothing more is taken.</summary>
    void Close();
}
