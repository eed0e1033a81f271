namespace Jobs.Platform;

/// <summary>One read from one of the child's pipes, in the order the reads completed.</summary>
/// <param name="Stream">The pipe it was read from.</param>
/// <param name="Data">The bytes read; owned by the receiver and never touched again by the platform.</param>
public readonly record struct ChildOutput(ChildStream Stream, byte[] Data);
