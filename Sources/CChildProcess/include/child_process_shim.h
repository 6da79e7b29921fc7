// The few Linux calls Swift cannot reach directly (variadic, macros, packed structs, GNU
// extensions of posix_spawn), for Sources/ChildProcess. Each wrapper is a thin pass-through.
#ifndef BATON_CHILD_PROCESS_SHIM_H
#define BATON_CHILD_PROCESS_SHIM_H

#include <stdint.h>
#include <sys/types.h>

/// posix_spawn of `path` (no PATH search) in a new process group (setpgid(0, 0), as
/// pacemaker-execd does), every signal at its default and none blocked, stdin from `stdin_fd`
/// (or /dev/null when it is -1), stdout and stderr to the given descriptors, every other
/// descriptor closed (closefrom(3)), in `cwd` when not NULL. Returns 0 and the pid, or an errno
/// (exec failures included: glibc reports them from the child).
int baton_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[], const char *cwd,
                int stdin_fd, int stdout_fd, int stderr_fd);

/// The same, with `new_group` 0 keeping the child in the caller's process group (a daemon the
/// demo starts in the foreground: a Ctrl-C at the terminal reaches it too) and 1 as above.
int baton_spawn_grouped(pid_t *pid, const char *path, char *const argv[], char *const envp[], const char *cwd,
                        int stdin_fd, int stdout_fd, int stderr_fd, int new_group);

/// The same as baton_spawn_grouped through vfork(2) on the caller's stack: no stack mapped and
/// unmapped per child as glibc's posix_spawn does (with its getrlimit), the runner's cost per
/// child. Every signal is blocked in the calling thread while the child runs until its exec; the
/// child puts each caught signal back to its default before it unblocks them. Exec failures are
/// returned as an errno, the child reaped.
int baton_vfork_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[], const char *cwd,
                      int stdin_fd, int stdout_fd, int stderr_fd, int new_group);

/// Waits for `pid` (blocking; EINTR retried) and reports as baton_reap does, with its resource
/// usage: user + system CPU microseconds and peak resident kilobytes (wait4's ru_maxrss).
/// Returns 1, or -1 and errno.
int baton_wait_usage(pid_t pid, int *exited, int *code, int64_t *cpu_microseconds, int64_t *peak_kilobytes);

/// pidfd_open(2): a descriptor that becomes readable when `pid` exits (close-on-exec). -1 and errno.
int baton_pidfd_open(pid_t pid);

/// Reaps `pid` if it has exited (waitpid WNOHANG). Returns 1 and sets `*exited` (1: exit code in
/// `*code`; 0: killed by the signal in `*code`), 0 when it has not exited, -1 and errno on error.
int baton_reap(pid_t pid, int *exited, int *code);

/// A non-blocking, close-on-exec pipe whose read end (`nonblocking_read` 1) or write end
/// (`nonblocking_read` 0) alone is non-blocking: the child's end stays blocking. -1 and errno.
int baton_pipe(int fds[2], int nonblocking_read);

int baton_eventfd(void);
int baton_epoll_create(void);
/// Adds (op 1) or deletes (op 2) `fd` with `events` (EPOLLIN 1, EPOLLOUT 4) and `token`.
int baton_epoll_control(int epfd, int op, int fd, uint32_t events, uint64_t token);
/// epoll_wait into parallel arrays. Returns the count, or -1 and errno.
int baton_epoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int max, int timeout_ms);

/// Blocks SIGPIPE in the calling thread (a write to a pipe whose reader is gone then fails with
/// EPIPE instead of killing the process), and clears one pending SIGPIPE of this thread.
void baton_block_sigpipe(void);
void baton_clear_pending_sigpipe(void);

/// Whether a process of group `group` is still alive (a zombie is not: it runs nothing, and
/// whoever inherited it reaps it), from /proc/PID/stat. 1 when /proc cannot be read.
int baton_group_has_live_process(pid_t group);

/// The calling thread's errno.
int baton_errno(void);
/// The number of threads of this process (the `Threads:` line of /proc/self/status), or -1.
int baton_thread_count(void);

/// The signal self-pipe's read end (non-blocking, close-on-exec), created on the first call:
/// each signal caught by `baton_signal_catch` writes its number there as one byte. -1 and errno.
int baton_signal_pipe_open(void);
/// Catches `number` with the self-pipe's handler (sigaction, SA_RESTART), at once: from this
/// call on the signal is never lost, ignored or fatal. Needs baton_signal_pipe_open first.
int baton_signal_catch(int number);
/// Puts `number` back to its default action.
int baton_signal_default(int number);
/// 0 default, 1 ignored, 2 caught by the self-pipe's handler, 3 another handler; -1 and errno.
int baton_signal_disposition(int number);

#endif
