namespace Jobs.Platform;

/// <summary>Which of the child's output pipes a chunk came from.</summary>
public enum ChildStream
{
    /// <summary>File descriptor 1.</summary>
    Stdout = 1,

    /// <summary>File descriptor 2.</summary>
    Stderr = 2,
}
