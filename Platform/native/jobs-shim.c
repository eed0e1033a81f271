/*
 * jobs-shim: the few steps Jobs needs between fork and exec, which .NET cannot run there.
 *
 *   jobs-shim exec CGROUP_PROCS|- -- PROGRAM [ARGS...]
 *     Joins the job's cgroup (so that it and everything it starts are tracked before its first
 *     instruction), then execs PROGRAM (PATH search). Fd 3 is the launcher's error pipe: it is
 *     closed by a successful exec, or receives errno when joining or exec fails.
 *
 *   jobs-shim watch CGROUP_DIR
 *     The server's watchdog: blocks reading stdin (a pipe whose only writer is the server) and,
 *     once the server is gone (end of file), kills every process in every cgroup below
 *     CGROUP_DIR and removes them. This is what ends jobs when the server is killed outright.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void fail(int error) {
    (void)!write(3, &error, sizeof error);
    _exit(127);
}

static int run_exec(int argc, char **argv) {
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: jobs-shim exec CGROUP_PROCS|- -- PROGRAM [ARGS...]\n");
        return 2;
    }
    if (fcntl(3, F_SETFD, FD_CLOEXEC) != 0) {
        return 126;
    }
    if (strcmp(argv[2], "-") != 0) {
        int fd = open(argv[2], O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
            fail(errno);
        }
        char pid[32];
        int length = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
        if (write(fd, pid, (size_t)length) != length) {
            fail(errno);
        }
        close(fd);
    }
    execvp(argv[4], &argv[4]);
    fail(errno);
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
    if (argc != 3) {
        fprintf(stderr, "usage: jobs-shim watch CGROUP_DIR\n");
        return 2;
    }
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    char buffer[64];
    ssize_t got;
    do {
        got = read(0, buffer, sizeof buffer);
    } while (got > 0 || (got < 0 && errno == EINTR));
    sweep(argv[2]);
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
