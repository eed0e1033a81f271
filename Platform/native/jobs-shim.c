/*
 * jobs-shim: the few steps Jobs needs between fork and exec, which .NET cannot run there.
 *
 *   jobs-shim exec [-j CGROUP_PROCS]... [-o SCORE] [-i] [-t] [-u UID:GID[:GROUP,...]] [-F FAULT] -- PROGRAM [ARGS...]
 *     Joins each job cgroup given (so that the job and everything it starts are tracked and
 *     limited before its first instruction), with -o sets its oom_score_adj to SCORE (as root, so
 *     that the job, once it has given up root, cannot go below it: the server's own lower score is
 *     not inherited), then execs PROGRAM (PATH search). With -i the job is
 *     isolated first: new PID, mount and network namespaces, in which PROGRAM runs as PID 1 with a
 *     private /proc, a read-only /sys of its own and only a loopback interface; this process
 *     stays outside as its parent and ends the way PROGRAM ends (same exit code, or same signal).
 *     With -t fd 0 is a terminal's slave: the process that execs PROGRAM becomes a session leader
 *     (the launcher spawns this one as a session leader already; with -i the job, after the fork)
 *     with that terminal as its controlling terminal, right before exec.
 *     With -u the process that execs PROGRAM gives up root for that account right before exec (after
 *     every step that needs root): its terminal becomes the account's, it drops every capability
 *     (the bounding set too), takes the supplementary groups, group and user (real, effective and
 *     saved), and sets no_new_privs, so that no set-user-ID program or file capability raises it again.
 *     Fd 3 is the launcher's report socket: one byte (REACHED_EXEC) is written just before PROGRAM
 *     is exec'd, and a successful exec closes the socket; a failed step writes two ints, the step
 *     (STEP_*) and errno. So end of file after REACHED_EXEC alone is a started program, and end of
 *     file with nothing written is a shim that died on the way (killed, or crashed).
 *     -F FAULT is for the launcher's tests only: die-before-exec (SIGKILL, as an OOM kill would) or
 *     hang-before-exec (never reports).
 *
 *   jobs-shim watch CGROUP_DIR...
 *     The server's watchdog: blocks reading stdin (a pipe whose only writer is the server) and,
 *     once the server is gone (end of file), kills every process in every cgroup below each
 *     CGROUP_DIR and removes them. This is what ends jobs when the server is killed outright.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The steps that can fail, as reported on fd 3 (Platform/Unix/UnixChildLauncher.cs reads them). */
enum { STEP_EXEC = 0, STEP_CGROUP = 1, STEP_ISOLATE = 2, STEP_SYSFS = 3, STEP_TERMINAL = 4, STEP_ACCOUNT = 5, STEP_OOM = 6 };
#define REACHED_EXEC 'x'

static const char *fault;
static int terminal;
static int isolated;

/* The account of -u (Platform/ChildAccount.cs bounds its groups the same). */
#define MAX_GROUPS 64
static int account;
static uid_t account_uid;
static gid_t account_gid;
static gid_t account_groups[MAX_GROUPS];
static int account_group_count;

#define MAX_CGROUPS 8

static void fail(int step, int error) {
    int report[2] = {step, error};
    (void)!write(3, report, sizeof report);
    _exit(127);
}

/* A decimal id of 32 bits at the start of *text; moves *text past it. */
static int parse_id(const char **text, unsigned int *id) {
    char *end;
    errno = 0;
    unsigned long value = strtoul(*text, &end, 10);
    if (end == *text || errno != 0 || value > 0xfffffffeUL || **text == '-' || **text == '+') {
        return 0;
    }
    *id = (unsigned int)value;
    *text = end;
    return 1;
}

/* UID:GID[:GROUP,GROUP...] */
static int parse_account(const char *text) {
    unsigned int id;
    if (!parse_id(&text, &id) || *text++ != ':') {
        return 0;
    }
    account_uid = id;
    if (!parse_id(&text, &id)) {
        return 0;
    }
    account_gid = id;
    if (*text == ':') {
        text++;
        while (*text != '\0') {
            if (account_group_count == MAX_GROUPS || !parse_id(&text, &id)) {
                return 0;
            }
            account_groups[account_group_count++] = id;
            if (*text == ',') {
                text++;
            } else if (*text != '\0') {
                return 0;
            }
        }
    }
    account = *text == '\0';
    return account;
}

/*
 * Gives up root for the account of -u. The order matters: the terminal is handed over and the
 * bounding set emptied while this process still may (CAP_CHOWN, CAP_SETPCAP); groups before the
 * group, the group before the user (after setresuid nothing else could be changed). Changing the
 * effective user clears permitted, effective and ambient capabilities; the inheritable set is
 * cleared here, and with no_new_privs and an empty bounding set no exec can give any back.
 */
static void become_account(void) {
    if (!account) {
        return;
    }
    if (terminal && (fchown(0, account_uid, (gid_t)-1) != 0 || fchmod(0, S_IRUSR | S_IWUSR | S_IWGRP) != 0)) {
        fail(STEP_ACCOUNT, errno);
    }
    for (int cap = 0; cap < 64; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
            /* EINVAL: past the last capability this kernel knows. */
            if (errno == EINVAL && cap > 0) {
                break;
            }
            fail(STEP_ACCOUNT, errno);
        }
    }
    if (setgroups((size_t)account_group_count, account_groups) != 0) {
        fail(STEP_ACCOUNT, errno);
    }
    if (setresgid(account_gid, account_gid, account_gid) != 0) {
        fail(STEP_ACCOUNT, errno);
    }
    if (setresuid(account_uid, account_uid, account_uid) != 0) {
        fail(STEP_ACCOUNT, errno);
    }
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3];
    memset(none, 0, sizeof none);
    if (syscall(SYS_capset, &header, none) != 0) {
        fail(STEP_ACCOUNT, errno);
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        fail(STEP_ACCOUNT, errno);
    }
    /* A change of the effective user clears the parent-death signal the isolated job relies on. */
    if (isolated && prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
        fail(STEP_ACCOUNT, errno);
    }
}

/*
 * execvp, but for one thing: a PATH folder the job's user may not search counts as a folder without
 * the program. glibc's execvp remembers EACCES from such a folder and fails with it when the program
 * is nowhere else, so a job of another user whose PATH holds the server's private folders (root's
 * ~/.local/bin) would read "Permission denied" for a program that does not exist. A program that is
 * there but may not be run still fails with EACCES; a file without #! runs with /bin/sh, as execvp does.
 */
static void exec_search(char **program) {
    const char *file = program[0];
    if (strchr(file, '/') != NULL) {
        execv(file, program);
        fail(STEP_EXEC, errno);
    }
    const char *path = getenv("PATH");
    if (path == NULL) {
        path = "/bin:/usr/bin";
    }
    int result = ENOENT;
    size_t length = strlen(file);
    for (const char *start = path;; ) {
        const char *end = strchrnul(start, ':');
        /* An empty entry is the working directory; one too long for a path names no program. */
        const char *folder = end > start ? start : ".";
        size_t size = end > start ? (size_t)(end - start) : 1;
        char candidate[PATH_MAX];
        if (size + 1 + length + 1 <= sizeof candidate) {
            memcpy(candidate, folder, size);
            candidate[size] = '/';
            memcpy(candidate + size + 1, file, length + 1);
            execv(candidate, program);
            int error = errno;
            if (error == ENOEXEC) {
                size_t count = 0;
                while (program[count] != NULL) {
                    count++;
                }
                char **shell = calloc(count + 2, sizeof(char *));
                if (shell == NULL) {
                    fail(STEP_EXEC, ENOMEM);
                }
                shell[0] = "/bin/sh";
                shell[1] = candidate;
                memcpy(shell + 2, program + 1, count * sizeof(char *));
                execv("/bin/sh", shell);
                fail(STEP_EXEC, errno);
            }
            struct stat there;
            if (error == EACCES && stat(candidate, &there) == 0) {
                /* The program is here and may not be run: the answer unless another folder runs one. */
                result = EACCES;
            } else if (error != ENOENT && error != ENOTDIR && error != EACCES && error != ESTALE && error != ENODEV && error != ETIMEDOUT) {
                fail(STEP_EXEC, error);
            }
        }
        if (*end == '\0') {
            break;
        }
        start = end + 1;
    }
    fail(STEP_EXEC, result);
}

/* Written just before exec: from here on only the exec itself can fail, and it reports if it does. */
static void exec_program(char **program) {
    if (fault != NULL && strcmp(fault, "die-before-exec") == 0) {
        raise(SIGKILL);
    }
    if (fault != NULL && strcmp(fault, "hang-before-exec") == 0) {
        for (;;) {
            pause();
        }
    }
    if (terminal) {
        /* A job that is not its session's leader yet (the isolated job) starts one: it is not a group leader. */
        if (getsid(0) != getpid() && setsid() < 0) {
            fail(STEP_TERMINAL, errno);
        }
        if (ioctl(0, TIOCSCTTY, 0) != 0) {
            fail(STEP_TERMINAL, errno);
        }
    }
    become_account();
    char reached = REACHED_EXEC;
    if (write(3, &reached, 1) != 1) {
        fail(STEP_EXEC, errno);
    }
    exec_search(program);
}

static void join_cgroup(const char *procs) {
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        fail(STEP_CGROUP, errno);
    }
    char pid[32];
    int length = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (write(fd, pid, (size_t)length) != length) {
        fail(STEP_CGROUP, errno);
    }
    close(fd);
}

/* In the job's new network namespace: bring up its loopback interface, the only one it has. */
static void loopback_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        fail(STEP_ISOLATE, errno);
    }
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFFLAGS, &request) != 0) {
        fail(STEP_ISOLATE, errno);
    }
    request.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &request) != 0) {
        fail(STEP_ISOLATE, errno);
    }
    close(s);
}

static volatile pid_t relayed;

static void forward(int sig) {
    int saved = errno;
    /* Its group once it has made its session (right after the fork), the job alone before. */
    if (kill(-relayed, sig) != 0) {
        kill(relayed, sig);
    }
    errno = saved;
}

static int synchronous(int sig) {
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP || sig == SIGSYS;
}

/*
 * Waits for the isolated job (PID 1 of its namespace) and ends as it ended: it must not end before
 * the job does, nor differently. Signals sent to this process's group reach the job directly when
 * it is a member too, so this parent ignores them. On a terminal the job leads a session (and a
 * group) of its own: then the signals this parent gets are forwarded to the job's group, unless the
 * job is in cgroups (forwarding only without): the launcher signals every member of those itself.
 */
static int relay(pid_t job, int forwarding) {
    relayed = job;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = forward;
    action.sa_flags = SA_RESTART;
    sigfillset(&action.sa_mask);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD) {
            continue;
        }
        if (forwarding && !synchronous(sig)) {
            sigaction(sig, &action, NULL);
        } else {
            signal(sig, SIG_IGN);
        }
    }
    /* Seen ended but not reaped: its pid stays taken until every forwarding has stopped. */
    siginfo_t ended;
    while (waitid(P_PID, (id_t)job, &ended, WEXITED | WNOWAIT) < 0) {
        if (errno != EINTR) {
            return 127;
        }
    }
    for (int s = 1; s < NSIG; s++) {
        if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD) {
            signal(s, SIG_IGN);
        }
    }
    int status;
    while (waitpid(job, &status, 0) < 0) {
        if (errno != EINTR) {
            return 127;
        }
    }
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    int sig = WTERMSIG(status);
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    signal(sig, SIG_DFL);
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    kill(getpid(), sig);
    return 128 + sig;
}

static void isolate(char **program, int forwarding) {
    if (unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET) != 0) {
        fail(STEP_ISOLATE, errno);
    }
    pid_t job = fork();
    if (job < 0) {
        fail(STEP_ISOLATE, errno);
    }
    if (job > 0) {
        /* Only the job reports on (or closes, by exec) the error socket. */
        close(3);
        _exit(relay(job, forwarding));
    }
    /* PID 1 of the new namespace: it goes when its parent goes, whoever kills that. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
        fail(STEP_ISOLATE, errno);
    }
    /* Mounts made here must not propagate back to the server's namespace. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        fail(STEP_ISOLATE, errno);
    }
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
        fail(STEP_ISOLATE, errno);
    }
    /*
     * The host's /sys lists the host's network interfaces (and more of the host) whatever namespace
     * reads it: sysfs shows the network namespace of the process that mounts it. Mounted here, in
     * the job's namespaces, /sys/class/net holds only its loopback. Read-only, as container
     * runtimes mount it: the job must not reconfigure the kernel through it.
     */
    if (mount("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
        fail(STEP_SYSFS, errno);
    }
    loopback_up();
    exec_program(program);
}

/* Written by root, this also sets the floor an unprivileged process may lower its score to. */
static void set_oom_score(const char *score) {
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        fail(STEP_OOM, errno);
    }
    size_t length = strlen(score);
    if (write(fd, score, length) != (ssize_t)length) {
        fail(STEP_OOM, errno);
    }
    close(fd);
}

static int run_exec(int argc, char **argv) {
    const char *cgroups[MAX_CGROUPS];
    const char *oom_score = NULL;
    int count = 0;
    int i = 2;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "-j") == 0 && i + 1 < argc && count < MAX_CGROUPS) {
            cgroups[count++] = argv[++i];
        } else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            oom_score = argv[++i];
        } else if (strcmp(argv[i], "-i") == 0) {
            isolated = 1;
        } else if (strcmp(argv[i], "-t") == 0) {
            terminal = 1;
        } else if (strcmp(argv[i], "-u") == 0 && i + 1 < argc && parse_account(argv[i + 1])) {
            i++;
        } else if (strcmp(argv[i], "-F") == 0 && i + 1 < argc) {
            fault = argv[++i];
        } else {
            i = argc;
        }
    }
    if (i + 1 >= argc) {
        fprintf(stderr, "usage: jobs-shim exec [-j CGROUP_PROCS]... [-o SCORE] [-i] [-t] [-u UID:GID[:GROUP,...]] [-F FAULT] -- PROGRAM [ARGS...]\n");
        return 2;
    }
    if (fcntl(3, F_SETFD, FD_CLOEXEC) != 0) {
        return 126;
    }
    for (int c = 0; c < count; c++) {
        join_cgroup(cgroups[c]);
    }
    if (oom_score != NULL) {
        set_oom_score(oom_score);
    }
    char **program = &argv[i + 1];
    if (isolated) {
        isolate(program, terminal && count == 0);
    }
    exec_program(program);
    return 127;
}

/* Kills the processes of one cgroup; returns how many were listed. */
static int kill_procs(const char *dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    FILE *procs = fopen(path, "r");
    if (procs == NULL) {
        return 0;
    }
    int count = 0;
    int pid;
    while (fscanf(procs, "%d", &pid) == 1) {
        kill(pid, SIGKILL);
        count++;
    }
    fclose(procs);
    return count;
}

static void sweep(const char *base) {
    for (int round = 0; round < 200; round++) {
        int left = 0;
        DIR *dir = opendir(base);
        if (dir == NULL) {
            return;
        }
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (entry->d_name[0] == '.' || entry->d_type != DT_DIR) {
                continue;
            }
            char child[4096];
            snprintf(child, sizeof child, "%s/%s", base, entry->d_name);
            int listed = kill_procs(child);
            if (listed == 0 && rmdir(child) != 0 && errno != ENOENT) {
                listed = 1;
            }
            left += listed;
        }
        closedir(dir);
        if (left == 0) {
            rmdir(base);
            return;
        }
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

static int run_watch(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: jobs-shim watch CGROUP_DIR...\n");
        return 2;
    }
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    char buffer[64];
    ssize_t got;
    do {
        got = read(0, buffer, sizeof buffer);
    } while (got > 0 || (got < 0 && errno == EINTR));
    /* The first folder holds every job process; the others (cgroup v1 controllers) only need removing. */
    for (int i = 2; i < argc; i++) {
        sweep(argv[i]);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "exec") == 0) {
        return run_exec(argc, argv);
    }
    if (argc >= 2 && strcmp(argv[1], "watch") == 0) {
        return run_watch(argc, argv);
    }
    fprintf(stderr, "usage: jobs-shim exec|watch ...\n");
    return 2;
}
