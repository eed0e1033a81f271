namespace Jobs.Platform;

/// <summary>
/// The child's stdin, for a child started with <see cref="ChildSpec.Stdin"/> or
/// <see cref="ChildSpec.Terminal"/>. Bytes are written in the order they are handed over, each
/// hand-over whole or not at all, and at most <see cref="BufferLimit"/> bytes wait here beyond what
/// the kernel holds: a child that does not read its stdin makes <see cref="TryWrite"/> refuse, never
/// makes this buffer grow. Safe to call from any thread, and never blocks: bytes wait for the child
/// on the platform's own threads (a terminal's input may be written at once, by a write that cannot block).
/// </summary>
public interface IChildInput
{
    /// <summary>Bytes that may wait here for the child before <see cref="TryWrite"/> refuses more.</summary>
    const int BufferLimit = 64 * 1024;

    /// <summary>True when stdin is the child's terminal (then <see cref="Resize"/> applies).</summary>
    bool IsTerminal { get; }

    /// <summary>True once end of input was handed over or the child has ended: nothing more is taken.</summary>
    bool IsClosed { get; }

    /// <summary>
    /// Takes <paramref name="data"/> (copied) to be written after what was taken before; false, taking
    /// nothing, while <see cref="BufferLimit"/> bytes wait already or once <see cref="IsClosed"/>.
    /// An empty <paramref name="data"/> is taken and writes nothing.
    /// </summary>
    bool TryWrite(ReadOnlyMemory<byte> data);

    /// <summary>Completes once <see cref="TryWrite"/> may take more (true) or never will again (false: closed).</summary>
    ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken);

    /// <summary>
    /// End of input, after every byte taken before it: a pipe's reader sees end of file; a terminal
    /// gets its end-of-file character (VEOF, usually Ctrl+D), as a person typing it would send.
    /// False when already closed.
    /// </summary>
    bool Complete();

    /// <summary>Sets the terminal's size; the kernel tells the job's foreground process group (SIGWINCH). False when not a terminal or closed.</summary>
    bool Resize(TerminalSize size);
}
