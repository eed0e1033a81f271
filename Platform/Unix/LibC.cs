using System.Runtime.InteropServices;

namespace Jobs.Platform.Unix;

/// <summary>The libc calls the Unix implementation needs; glibc on Linux (x86-64 and arm64 share these constants).</summary>
internal static unsafe partial class LibC
{
    private const string Lib = "libc";

    internal const int AF_UNIX = 1;
    internal const int SOCK_STREAM = 1;
    internal const int SOCK_CLOEXEC = 0x80000;
    internal const int SHUT_RD = 0;
    internal const int SHUT_WR = 1;
    internal const int O_RDONLY = 0;
    internal const int O_RDWR = 2;
    internal const int O_CREAT = 0x40;
    internal const int O_EXCL = 0x80;
    internal const int O_CLOEXEC = 0x80000;
    internal const int O_NOCTTY = 0x100;
    internal const int O_NONBLOCK = 0x800;
    internal const int EIO = 5;
    internal const uint TIOCSWINSZ = 0x5414;

    // struct termios of glibc: four tcflag_t, c_line, then c_cc; VEOF is its index 4.
    internal const int TermiosSize = 60;
    internal const int TermiosCcOffset = 17;
    internal const int VEOF = 4;
    internal const int EAGAIN = 11;
    internal const int EEXIST = 17;
    internal const int LOCK_EX = 2;
    internal const int LOCK_NB = 4;
    internal const int AT_FDCWD = -100;
    internal const int AT_SYMLINK_NOFOLLOW = 0x100;
    internal const uint STATX_TYPE = 0x1;
    internal const uint STATX_MODE = 0x2;
    internal const uint STATX_UID = 0x8;
    internal const int S_IFMT = 0xF000;
    internal const int S_IFDIR = 0x4000;
    internal const int S_IFLNK = 0xA000;

    // struct statx is the same on every architecture (unlike struct stat): 256 bytes, these at fixed offsets.
    internal const int StatxSize = 256;
    internal const int StatxUidOffset = 20;
    internal const int StatxModeOffset = 28;
    internal const int EINTR = 4;
    internal const int ENOENT = 2;
    internal const int ESRCH = 3;
    internal const int ECHILD = 10;
    internal const int ETIMEDOUT = 110;
    internal const int ERANGE = 34;
    internal const int SIGKILL = 9;
    internal const int SIGTERM = 15;
    internal const short POLLIN = 0x1;
    internal const short POLLOUT = 0x4;

    internal const short POSIX_SPAWN_SETPGROUP = 0x02;
    internal const short POSIX_SPAWN_SETSIGDEF = 0x04;
    internal const short POSIX_SPAWN_SETSIGMASK = 0x08;
    internal const short POSIX_SPAWN_SETSID = 0x80;

    // glibc: posix_spawn_file_actions_t is 80 bytes, posix_spawnattr_t 336, sigset_t 128.
    // Generous sizes keep a libc with larger types from writing past the buffers.
    internal const int FileActionsSize = 256;
    internal const int SpawnAttrSize = 1024;
    internal const int SigSetSize = 256;

    [StructLayout(LayoutKind.Sequential)]
    internal struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    // struct passwd of glibc on 64-bit Linux (x86-64 and arm64 alike).
    [StructLayout(LayoutKind.Sequential)]
    internal struct Passwd
    {
        public byte* Name;
        public byte* Password;
        public uint Uid;
        public uint Gid;
        public byte* Gecos;
        public byte* Dir;
        public byte* Shell;
    }

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int pipe2(int* fds, int flags);

    internal const int RLIMIT_NOFILE = 7;
    internal const int ENFILE = 23;
    internal const int EMFILE = 24;

    // struct rlimit: rlim_cur, rlim_max (rlim_t is 64 bits on every 64-bit Linux).
    [StructLayout(LayoutKind.Sequential)]
    internal struct RLimit
    {
        public ulong Current;
        public ulong Max;
    }

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int getrlimit(int resource, RLimit* limit);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int setrlimit(int resource, RLimit* limit);

    internal const int POSIX_FADV_DONTNEED = 4;
    internal const uint SYNC_FILE_RANGE_WRITE = 2;

    // Returns the error number itself (0 on success), not -1 and errno.
    [LibraryImport(Lib)]
    internal static partial int posix_fadvise(int fd, long offset, long length, int advice);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int sync_file_range(int fd, long offset, long length, uint flags);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int close(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int socketpair(int domain, int type, int protocol, int* fds);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int shutdown(int fd, int how);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint read(int fd, void* buffer, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint write(int fd, void* buffer, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int poll(PollFd* fds, nuint count, int timeout);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int kill(int pid, int signal);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int posix_openpt(int flags);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int grantpt(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int unlockpt(int fd);

    // Returns the error number.
    [LibraryImport(Lib)]
    internal static partial int ptsname_r(int fd, byte* buffer, nuint length);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int ioctl(int fd, nuint request, void* argument);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int tcgetattr(int fd, byte* termios);

    [LibraryImport(Lib)]
    internal static partial uint geteuid();

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int open(string path, int flags, uint mode);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int flock(int fd, int operation);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int statx(int dirFd, string path, int flags, uint mask, byte* buffer);

    // Returns the error number (0 with *result null: no such user); the strings point into buffer.
    [LibraryImport(Lib)]
    internal static partial int getpwuid_r(uint uid, Passwd* entry, byte* buffer, nuint length, Passwd** result);

    // As getpwuid_r, by name.
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int getpwnam_r(string name, Passwd* entry, byte* buffer, nuint length, Passwd** result);

    // The groups of user name (group included): -1 with *count set to the number needed when they do not fit.
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int getgrouplist(string name, uint group, uint* groups, int* count);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int lchown(string path, uint owner, uint group);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int pidfd_open(int pid, uint flags);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int getpgid(int pid);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int waitpid(int pid, int* status, int options);

    // posix_spawn* return the error number instead of setting errno.
    [LibraryImport(Lib)]
    internal static partial int posix_spawn(int* pid, byte* path, void* fileActions, void* attributes, byte** argv, byte** envp);

    [LibraryImport(Lib)]
    internal static partial int posix_spawn_file_actions_init(void* fileActions);

    [LibraryImport(Lib)]
    internal static partial int posix_spawn_file_actions_destroy(void* fileActions);

    [LibraryImport(Lib)]
    internal static partial int posix_spawn_file_actions_adddup2(void* fileActions, int fd, int newFd);

    [LibraryImport(Lib)]
    internal static partial int posix_spawn_file_actions_addopen(void* fileActions, int fd, byte* path, int flags, uint mode);

    [LibraryImport(Lib)]
    internal static partial int posix_spawn_file_actions_addclosefrom_np(void* fileActions, int lowFd);

    [LibraryImport(Lib)]
    internal static partial int posix_spawn_file_actions_addchdir_np(void* fileActions, byte* path);

    [LibraryImport(Lib)]
    internal static partial int posix_spawnattr_init(void* attributes);

    [LibraryImport(Lib)]
    internal static partial int posix_spawnattr_destroy(void* attributes);

    [LibraryImport(Lib)]
    internal static partial int posix_spawnattr_setflags(void* attributes, short flags);

    [LibraryImport(Lib)]
    internal static partial int posix_spawnattr_setpgroup(void* attributes, int processGroup);

    [LibraryImport(Lib)]
    internal static partial int posix_spawnattr_setsigmask(void* attributes, void* sigset);

    [LibraryImport(Lib)]
    internal static partial int posix_spawnattr_setsigdefault(void* attributes, void* sigset);

    [LibraryImport(Lib)]
    internal static partial int sigemptyset(void* sigset);

    [LibraryImport(Lib)]
    internal static partial int sigfillset(void* sigset);

    /// <summary>waitpid retried on EINTR; returns the pid, 0, or -1 with the error number in <paramref name="error"/>.</summary>
    internal static int WaitPid(int pid, int options, out int status, out int error)
    {
        int result;
        int value = 0;
        do
        {
            result = waitpid(pid, &value, options);
            error = result < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
        while (result < 0 && error == EINTR);

        status = value;
        return result;
    }

    internal static string ErrorText(int errorNumber) => Marshal.GetPInvokeErrorMessage(errorNumber);
}
