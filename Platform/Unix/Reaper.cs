using System.ComponentModel;

namespace Jobs.Platform.Unix;

/// <summary>
/// Tells when children have exited, without reaping them, from one thread polling their pidfds.
/// Leaving the zombie in place keeps its pid, and so its process group id, from being reused
/// while the group is still being swept; <see cref="UnixChild"/> reaps it afterwards.
/// </summary>
internal sealed unsafe class Reaper : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<int, TaskCompletionSource> _waiters = [];
    private readonly int _wakeRead;
    private readonly int _wakeWrite;
    private readonly Thread _thread;
    private bool _changed;
    private volatile bool _disposed;

    public Reaper()
    {
        int* fds = stackalloc int[2];
        if (LibC.pipe2(fds, LibC.O_CLOEXEC) != 0)
        {
            throw new Win32Exception();
        }

        _wakeRead = fds[0];
        _wakeWrite = fds[1];
        _thread = new Thread(Run) { IsBackground = true, Name = "jobs-reaper" };
        _thread.Start();
    }

    /// <summary>Completes when the process (a child of this one) has exited; it stays a zombie until reaped.</summary>
    public Task WhenExited(int pid)
    {
        int pidfd = LibC.pidfd_open(pid, 0);
        if (pidfd < 0)
        {
            throw new Win32Exception();
        }

        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _waiters[pidfd] = exited;
            _changed = true;
        }

        Wake();
        return exited.Task;
    }

    public void Dispose()
    {
        _disposed = true;
        Wake();
        _thread.Join();
        LibC.close(_wakeRead);
        LibC.close(_wakeWrite);
    }

    private void Wake()
    {
        byte one = 1;
        LibC.write(_wakeWrite, &one, 1);
    }

    private void Run()
    {
        var fds = new[] { new LibC.PollFd { Fd = _wakeRead, Events = LibC.POLLIN } };
        byte* drain = stackalloc byte[256];
        while (!_disposed)
        {
            lock (_gate)
            {
                if (_changed)
                {
                    fds = new LibC.PollFd[_waiters.Count + 1];
                    fds[0] = new LibC.PollFd { Fd = _wakeRead, Events = LibC.POLLIN };
                    int i = 1;
                    foreach (int pidfd in _waiters.Keys)
                    {
                        fds[i++] = new LibC.PollFd { Fd = pidfd, Events = LibC.POLLIN };
                    }

                    _changed = false;
                }
            }

            int ready;
            fixed (LibC.PollFd* p = fds)
            {
                ready = LibC.poll(p, (nuint)fds.Length, -1);
            }

            if (ready <= 0)
            {
                continue;
            }

            if (fds[0].REvents != 0)
            {
                LibC.read(_wakeRead, drain, 256);
            }

            for (int i = 1; i < fds.Length; i++)
            {
                if (fds[i].REvents == 0)
                {
                    continue;
                }

                TaskCompletionSource? exited;
                lock (_gate)
                {
                    _waiters.Remove(fds[i].Fd, out exited);
                    _changed = true;
                }

                LibC.close(fds[i].Fd);
                exited?.TrySetResult();
            }
        }
    }
}
