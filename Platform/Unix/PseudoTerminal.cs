using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Jobs.Platform.Unix;

/// <summary>
/// The server's side of a job's pseudo-terminal: the master, non-blocking. The job gets the slave
/// as fds 0, 1 and 2 (its controlling terminal); what it writes there is read here, what is written
/// here is what it reads, through the line discipline with the kernel's default modes (echo,
/// canonical input, signal characters, NL to CR NL on output), as a person's terminal would be.
/// </summary>
internal sealed unsafe class PseudoTerminal : IDisposable
{
    // Every call on the master holds a reference, so that closing it never lets another thread's
    // read or write reach a descriptor number the process has meanwhile reused.
    private readonly SafeFileHandle _master;

    private PseudoTerminal(SafeFileHandle master, string slavePath)
    {
        _master = master;
        SlavePath = slavePath;
    }

    /// <summary>The slave's path (<c>/dev/pts/N</c>).</summary>
    public string SlavePath { get; }

    /// <summary>Opens a terminal of <paramref name="size"/>; <paramref name="slave"/> is an open descriptor of its slave (close-on-exec, not a controlling terminal of the server).</summary>
    public static PseudoTerminal Open(TerminalSize size, out int slave)
    {
        int master = LibC.posix_openpt(LibC.O_RDWR | LibC.O_NOCTTY | LibC.O_CLOEXEC | LibC.O_NONBLOCK);
        if (master < 0)
        {
            throw new IOException($"no pseudo-terminal could be opened: {LibC.ErrorText(Marshal.GetLastPInvokeError())}");
        }

        var handle = new SafeFileHandle(master, ownsHandle: true);
        try
        {
            byte* name = stackalloc byte[128];
            int error = LibC.grantpt(master) != 0 || LibC.unlockpt(master) != 0 ? Marshal.GetLastPInvokeError() : LibC.ptsname_r(master, name, 128);
            if (error != 0)
            {
                throw new IOException($"the pseudo-terminal could not be unlocked: {LibC.ErrorText(error)}");
            }

            string path = Encoding.UTF8.GetString(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(name));
            var terminal = new PseudoTerminal(handle, path);
            if (!terminal.Resize(size))
            {
                throw new IOException($"the pseudo-terminal's size could not be set: {LibC.ErrorText(Marshal.GetLastPInvokeError())}");
            }

            slave = LibC.open(path, LibC.O_RDWR | LibC.O_NOCTTY | LibC.O_CLOEXEC, 0);
            if (slave < 0)
            {
                throw new IOException($"the pseudo-terminal {path} could not be opened: {LibC.ErrorText(Marshal.GetLastPInvokeError())}");
            }

            return terminal;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> for output and reads it: the count read, 0 when none
    /// came in time, -1 at the end (every descriptor of the slave is closed: Linux returns what is
    /// buffered first, then <c>EIO</c>) or once disposed.
    /// </summary>
    public int Read(Span<byte> buffer, int timeoutMs)
    {
        if (!TryAddRef(out int fd))
        {
            return -1;
        }

        try
        {
            fixed (byte* data = buffer)
            {
                while (true)
                {
                    nint read = LibC.read(fd, data, (nuint)buffer.Length);
                    if (read > 0)
                    {
                        return (int)read;
                    }

                    int error = read == 0 ? LibC.EIO : Marshal.GetLastPInvokeError();
                    if (error == LibC.EINTR)
                    {
                        continue;
                    }

                    if (error != LibC.EAGAIN)
                    {
                        return -1;
                    }

                    if (!Wait(fd, LibC.POLLIN, timeoutMs))
                    {
                        return 0;
                    }
                }
            }
        }
        finally
        {
            _master.DangerousRelease();
        }
    }

    /// <summary>Writes what the terminal takes within <paramref name="timeoutMs"/>: the count written, 0 when it took nothing in time, -1 when it cannot take any more.</summary>
    public int Write(ReadOnlySpan<byte> data, int timeoutMs)
    {
        if (!TryAddRef(out int fd))
        {
            return -1;
        }

        try
        {
            fixed (byte* bytes = data)
            {
                while (true)
                {
                    nint written = LibC.write(fd, bytes, (nuint)data.Length);
                    if (written > 0)
                    {
                        return (int)written;
                    }

                    int error = written == 0 ? LibC.EAGAIN : Marshal.GetLastPInvokeError();
                    if (error == LibC.EINTR)
                    {
                        continue;
                    }

                    if (error != LibC.EAGAIN)
                    {
                        return -1;
                    }

                    if (!Wait(fd, LibC.POLLOUT, timeoutMs))
                    {
                        return 0;
                    }
                }
            }
        }
        finally
        {
            _master.DangerousRelease();
        }
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> for the terminal to take more input (or for a hang-up, which the next write reports).</summary>
    public void WaitForRoom(int timeoutMs)
    {
        if (TryAddRef(out int fd))
        {
            try
            {
                Wait(fd, LibC.POLLOUT, timeoutMs);
            }
            finally
            {
                _master.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Sets the size; the kernel sends SIGWINCH to the terminal's foreground process group.
    /// False for a size out of range (nothing is set) or once disposed.
    /// </summary>
    public bool Resize(TerminalSize size)
    {
        if (!size.IsValid || !TryAddRef(out int fd))
        {
            return false;
        }

        try
        {
            // struct winsize: rows, columns, then pixel sizes nobody reads.
            ushort* winsize = stackalloc ushort[4];
            winsize[0] = (ushort)size.Rows;
            winsize[1] = (ushort)size.Columns;
            winsize[2] = 0;
            winsize[3] = 0;
            return LibC.ioctl(fd, LibC.TIOCSWINSZ, winsize) == 0;
        }
        finally
        {
            _master.DangerousRelease();
        }
    }

    /// <summary>The terminal's end-of-file character now (VEOF, usually Ctrl+D); the default when it cannot be read.</summary>
    public byte EndOfFileCharacter()
    {
        const byte ControlD = 4;
        if (!TryAddRef(out int fd))
        {
            return ControlD;
        }

        try
        {
            // On a master, the kernel answers with the slave's modes: those the job set.
            byte* termios = stackalloc byte[256];
            return LibC.tcgetattr(fd, termios) == 0 ? termios[LibC.TermiosCcOffset + LibC.VEOF] : ControlD;
        }
        finally
        {
            _master.DangerousRelease();
        }
    }

    /// <summary>Closes the master once no call is using it.</summary>
    public void Dispose() => _master.Dispose();

    private bool TryAddRef(out int fd)
    {
        bool added = false;
        try
        {
            _master.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException)
        {
        }

        fd = added ? (int)_master.DangerousGetHandle() : -1;
        return added;
    }

    private static bool Wait(int fd, short events, int timeoutMs)
    {
        var poll = new LibC.PollFd { Fd = fd, Events = events };
        int ready = LibC.poll(&poll, 1, timeoutMs);

        // POLLHUP and POLLERR count as ready: the next read or write says what they mean.
        return ready > 0;
    }
}
