#define _GNU_SOURCE
#include "child_process_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int baton_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[], const char *cwd,
                int stdin_fd, int stdout_fd, int stderr_fd) {
    return baton_spawn_grouped(pid, path, argv, envp, cwd, stdin_fd, stdout_fd, stderr_fd, 1);
}

int baton_spawn_grouped(pid_t *pid, const char *path, char *const argv[], char *const envp[], const char *cwd,
                        int stdin_fd, int stdout_fd, int stderr_fd, int new_group) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int result = posix_spawn_file_actions_init(&actions);
    if (result != 0) return result;
    result = posix_spawnattr_init(&attributes);
    if (result != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return result;
    }
    if (stdin_fd >= 0) result = posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
    else result = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (result == 0) result = posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
    if (result == 0) result = posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2);
    if (result == 0) result = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (result == 0 && cwd != NULL) result = posix_spawn_file_actions_addchdir_np(&actions, cwd);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    if (result == 0) result = posix_spawnattr_setsigmask(&attributes, &none);
    if (result == 0) result = posix_spawnattr_setsigdefault(&attributes, &all);
    if (result == 0) result = posix_spawnattr_setpgroup(&attributes, 0);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (new_group) flags |= POSIX_SPAWN_SETPGROUP;
    if (result == 0) result = posix_spawnattr_setflags(&attributes, flags);
    if (result == 0) result = posix_spawn(pid, path, &actions, &attributes, argv, envp);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return result;
}

// The child of baton_vfork_spawn, on its parent's stack while the parent waits (vfork): only
// system calls, no allocation, no lock, nothing a signal handler of the parent could see.
// Every signal is blocked on entry; each is put back to its default action before the mask is
// cleared, so no handler of the parent's ever runs here. An error is left in `*failure` (the
// parent's memory) and the child exits 127.
__attribute__((noreturn)) static void vfork_child(const char *path, char *const argv[], char *const envp[], const char *cwd,
                        int stdin_fd, int stdout_fd, int stderr_fd, int new_group, volatile int *failure) {
    // Descriptors first: until they are closed this child holds every file the parent has
    // open, and one open for writing cannot be executed by anyone meanwhile (ETXTBSY).
    if (new_group && setpgid(0, 0) != 0) goto fail;
    int input = stdin_fd >= 0 ? stdin_fd : open("/dev/null", O_RDONLY);
    if (input < 0) goto fail;
    // dup2 onto itself keeps close-on-exec: duplicate through a spare descriptor then.
    if (input == 0) { if (fcntl(0, F_SETFD, 0) != 0) goto fail; }
    else if (dup2(input, 0) < 0) goto fail;
    if (stdout_fd == 1) { if (fcntl(1, F_SETFD, 0) != 0) goto fail; }
    else if (dup2(stdout_fd, 1) < 0) goto fail;
    if (stderr_fd == 2) { if (fcntl(2, F_SETFD, 0) != 0) goto fail; }
    else if (dup2(stderr_fd, 2) < 0) goto fail;
    if (syscall(SYS_close_range, 3, ~0U, 0) != 0) goto fail;
    struct sigaction default_action;
    memset(&default_action, 0, sizeof default_action);
    default_action.sa_handler = SIG_DFL;
    for (int number = 1; number < NSIG; number++) {
        if (number == SIGKILL || number == SIGSTOP) continue;
        struct sigaction current;
        if (sigaction(number, NULL, &current) == 0 && current.sa_handler != SIG_DFL) sigaction(number, &default_action, NULL);
    }
    if (cwd != NULL && chdir(cwd) != 0) goto fail;
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) != 0) goto fail;
    execve(path, argv, envp);
fail:
    *failure = errno;
    _exit(127);
}

int baton_vfork_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[], const char *cwd,
                      int stdin_fd, int stdout_fd, int stderr_fd, int new_group) {
    // Descriptors 0-2 given as the child's own ends sit above 2 here (the runner's pipes), but
    // a caller with 0-2 closed could pass one of them: dup2 then would clobber another.
    if ((stdout_fd >= 0 && stdout_fd < 3 && stdout_fd != 1) || (stderr_fd >= 0 && stderr_fd < 3 && stderr_fd != 2)
        || (stdin_fd >= 0 && stdin_fd < 3 && stdin_fd != 0)) {
        return baton_spawn_grouped(pid, path, argv, envp, cwd, stdin_fd, stdout_fd, stderr_fd, new_group);
    }
    // (glibc keeps its own two internal signals out of this mask; the project never changes
    // its ids from another thread, the one use of them.)
    sigset_t all, saved;
    sigfillset(&all);
    int result = pthread_sigmask(SIG_SETMASK, &all, &saved);
    if (result != 0) return result;
    volatile int failure = 0;
    pid_t child = vfork();
    if (child == 0) vfork_child(path, argv, envp, cwd, stdin_fd, stdout_fd, stderr_fd, new_group, &failure);
    int code = child < 0 ? errno : 0;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (child < 0) return code;
    if (failure != 0) {
        // It exited 127 without running anything: reap it here, as posix_spawn does.
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
        return failure;
    }
    *pid = child;
    return 0;
}

int baton_pidfd_open(pid_t pid) { return pidfd_open(pid, 0); }

int baton_reap(pid_t pid, int *exited, int *code) {
    int status = 0;
    pid_t reaped;
    do {
        reaped = waitpid(pid, &status, WNOHANG);
    } while (reaped < 0 && errno == EINTR);
    if (reaped < 0) return -1;
    if (reaped == 0) return 0;
    if (WIFEXITED(status)) {
        *exited = 1;
        *code = WEXITSTATUS(status);
    } else {
        *exited = 0;
        *code = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    }
    return 1;
}

int baton_wait_usage(pid_t pid, int *exited, int *code, int64_t *cpu_microseconds, int64_t *peak_kilobytes) {
    int status = 0;
    struct rusage usage;
    memset(&usage, 0, sizeof usage);
    pid_t reaped;
    do {
        reaped = wait4(pid, &status, 0, &usage);
    } while (reaped < 0 && errno == EINTR);
    if (reaped < 0) return -1;
    if (WIFEXITED(status)) {
        *exited = 1;
        *code = WEXITSTATUS(status);
    } else {
        *exited = 0;
        *code = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    }
    *cpu_microseconds = (int64_t)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000
        + usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
    *peak_kilobytes = usage.ru_maxrss;
    return 1;
}

int baton_pipe(int fds[2], int nonblocking_read) {
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    int ours = nonblocking_read ? fds[0] : fds[1];
    int flags = fcntl(ours, F_GETFL);
    if (flags < 0 || fcntl(ours, F_SETFL, flags | O_NONBLOCK) != 0) {
        int saved = errno;
        close(fds[0]);
        close(fds[1]);
        errno = saved;
        return -1;
    }
    return 0;
}

int baton_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

int baton_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int baton_epoll_control(int epfd, int op, int fd, uint32_t events, uint64_t token) {
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = events;
    event.data.u64 = token;
    return epoll_ctl(epfd, op == 1 ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &event);
}

int baton_epoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event ready[64];
    if (max > 64) max = 64;
    int count = epoll_wait(epfd, ready, max, timeout_ms);
    for (int index = 0; index < count; index++) {
        tokens[index] = ready[index].data.u64;
        events[index] = ready[index].events;
    }
    return count;
}

void baton_block_sigpipe(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

void baton_clear_pending_sigpipe(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    struct timespec zero = {0, 0};
    while (sigtimedwait(&set, NULL, &zero) == SIGPIPE) {}
}

int baton_errno(void) { return errno; }

int baton_thread_count(void) {
    FILE *status = fopen("/proc/self/status", "re");
    if (status == NULL) return -1;
    char line[256];
    int count = -1;
    while (fgets(line, sizeof line, status) != NULL) {
        if (sscanf(line, "Threads: %d", &count) == 1) break;
    }
    fclose(status);
    return count;
}

#include <dirent.h>

int baton_group_has_live_process(pid_t group) {
    DIR *directory = opendir("/proc");
    if (directory == NULL) return 1;
    int live = 0;
    struct dirent *entry;
    while (!live && (entry = readdir(directory)) != NULL) {
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
        char path[64], text[512];
        snprintf(path, sizeof path, "/proc/%s/stat", entry->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t count = read(fd, text, sizeof text - 1);
        close(fd);
        if (count <= 0) continue;
        text[count] = 0;
        // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        char *close_paren = strrchr(text, ')');
        char state = 0;
        int parent = 0, process_group = 0;
        if (close_paren == NULL || sscanf(close_paren + 1, " %c %d %d", &state, &parent, &process_group) != 3) continue;
        if (process_group == group && state != 'Z' && state != 'X') live = 1;
    }
    closedir(directory);
    return live;
}

// A self-pipe for signals: the handler writes the signal's number, one byte, to a non-blocking
// pipe (write(2) is async-signal-safe); the reader side turns bytes into calls. A full pipe
// drops the byte: the same signal is already waiting there, or 64 KiB of them are.
static int signal_pipe_fds[2] = {-1, -1};

static void signal_pipe_handler(int number) {
    int saved = errno;
    unsigned char byte = (unsigned char)number;
    ssize_t written = write(signal_pipe_fds[1], &byte, 1);
    (void)written;
    errno = saved;
}

int baton_signal_pipe_open(void) {
    if (signal_pipe_fds[0] >= 0) return signal_pipe_fds[0];
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
    signal_pipe_fds[1] = fds[1];
    signal_pipe_fds[0] = fds[0];
    return fds[0];
}

int baton_signal_catch(int number) {
    if (signal_pipe_fds[1] < 0) { errno = EBADF; return -1; }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = signal_pipe_handler;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    return sigaction(number, &action, NULL);
}

int baton_signal_default(int number) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    return sigaction(number, &action, NULL);
}

int baton_signal_disposition(int number) {
    struct sigaction current;
    if (sigaction(number, NULL, &current) != 0) return -1;
    if (current.sa_handler == SIG_DFL) return 0;
    if (current.sa_handler == SIG_IGN) return 1;
    return current.sa_handler == signal_pipe_handler ? 2 : 3;
}
