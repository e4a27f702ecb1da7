// An attempt's supervisor and the hook's process, from fork to exec (hook_runner.h says why
// a supervisor). Between fork and exec only async-signal-safe calls: no allocation, no lock.
#include "actions/supervisor.h"

#include "base/privileges.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

namespace mxs {
namespace {

// ---- after fork: async-signal-safe calls only (no allocation, no lock) ----------------

// "/proc/PID/task/PID/children" into buf (no snprintf after fork).
void children_path(char (&buf)[64], pid_t pid) {
    char digits[16];
    int n = 0;
    for (auto v = static_cast<unsigned>(pid); n == 0 || v > 0; v /= 10)
        digits[n++] = static_cast<char>('0' + v % 10);
    char* p = buf;
    auto put = [&](const char* s) {
        while (*s)
            *p++ = *s++;
    };
    auto put_pid = [&] {
        for (int i = n - 1; i >= 0; --i)
            *p++ = digits[i];
    };
    put("/proc/");
    put_pid();
    put("/task/");
    put_pid();
    put("/children");
    *p = '\0';
}

// Calls fn(child) for each child of pid's main thread, as the kernel lists them.
template <typename Fn> void for_each_child(pid_t pid, Fn fn) {
    char path[64];
    children_path(path, pid);
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[512];
    long child = 0;
    bool in_number = false;
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;)
        for (ssize_t i = 0; i < n; ++i) {
            if (buf[i] >= '0' && buf[i] <= '9') {
                child = child * 10 + (buf[i] - '0');
                in_number = true;
            } else if (in_number) {
                fn(static_cast<pid_t>(child));
                child = 0;
                in_number = false;
            }
        }
    if (in_number)
        fn(static_cast<pid_t>(child));
    close(fd);
}

// Sends sig to every descendant of self, walking the process tree down from it (the
// main thread's children of each; what a depth beyond the stack or another thread's
// fork hides from the walk reparents to self when its parent dies).
void signal_tree(pid_t self, int sig) {
    static pid_t stack[4096];
    std::size_t n = 0;
    stack[n++] = self;
    while (n > 0) {
        const pid_t p = stack[--n];
        for_each_child(p, [&](pid_t c) {
            kill(c, sig);
            if (n < std::size(stack))
                stack[n++] = c;
        });
    }
}

timespec monotonic() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

// a - b, or zero when b is later.
timespec until(const timespec& a, const timespec& b) {
    long long ns = (a.tv_sec - b.tv_sec) * 1000000000LL + (a.tv_nsec - b.tv_nsec);
    if (ns < 0)
        ns = 0;
    return {static_cast<time_t>(ns / 1000000000LL), static_cast<long>(ns % 1000000000LL)};
}

// The hook's own process, from fork to exec: the one place where it is prepared.
// Its supervisor has reset every signal disposition to the default.
[[noreturn]] void exec_hook(char* const* av, char* const* ev, int out_fd) {
    setpgid(0, 0); // its own group: no terminal signal of the agent's reaches it
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    syscall(SYS_close_range, 3u, ~0u, 0u); // no BPF or socket descriptor reaches the hook
    if (drop_all_privileges_for_exec() != 0)
        _exit(126); // no capability, no_new_privs
    execve(av[0], av, ev);
    _exit(127);
}

// An attempt's supervisor (a fork of the agent that never execs; every signal blocked
// on entry): a child subreaper that forks the hook, waits for its main process and
// then SIGKILLs and reaps every process still left below it before it exits. Writes
// the hook's wait status to status_fd; none when the hook could not be forked.
// Signals from the agent: kKillNow (timeout) kills every process of the run at once;
// SIGTERM (agent shutdown, or the agent died: PR_SET_PDEATHSIG) sends them SIGTERM
// and SIGKILL after `grace`.
[[noreturn]] void supervise(char* const* av, char* const* ev, int out_fd, int status_fd,
                            pid_t agent, timespec grace) {
    // Default dispositions: a handler of the agent's (Asio's writes to the agent's
    // own pipe) must never run here, and the hook must not inherit an ignored signal.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s)
        sigaction(s, &dfl, nullptr); // SIGKILL, SIGSTOP: EINVAL, harmless
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    const pid_t self = getpid();
    if (getppid() != agent) // the agent died before PR_SET_PDEATHSIG
        kill(self, SIGTERM);
    // None of the agent's descriptors stays open here (a BPF link, the listening socket).
    const unsigned lo = static_cast<unsigned>(std::min(out_fd, status_fd));
    const unsigned hi = static_cast<unsigned>(std::max(out_fd, status_fd));
    if (lo > 3)
        syscall(SYS_close_range, 3u, lo - 1, 0u);
    if (hi > lo + 1)
        syscall(SYS_close_range, lo + 1, hi - 1, 0u);
    syscall(SYS_close_range, hi + 1, ~0u, 0u);

    const pid_t hook = fork();
    if (hook == 0)
        exec_hook(av, ev, out_fd);
    close(out_fd);
    if (hook < 0)
        _exit(1);
    sigset_t wanted;
    sigemptyset(&wanted);
    sigaddset(&wanted, SIGCHLD);
    sigaddset(&wanted, SIGTERM);
    sigaddset(&wanted, kKillNow);
    int status = 0;
    bool hook_ended = false, terminating = false, killed = false;
    timespec kill_at{};
    while (!hook_ended) {
        int sig;
        if (terminating && !killed) {
            const timespec left = until(kill_at, monotonic());
            if (left.tv_sec == 0 && left.tv_nsec == 0)
                sig = kKillNow; // the grace is over
            else if ((sig = sigtimedwait(&wanted, nullptr, &left)) < 0 && errno == EAGAIN)
                sig = kKillNow;
        } else {
            sig = sigwaitinfo(&wanted, nullptr);
        }
        if (sig == SIGTERM && !terminating && !killed) {
            terminating = true;
            kill(-hook, SIGTERM);
            signal_tree(self, SIGTERM);
            const timespec now = monotonic();
            kill_at = {now.tv_sec + grace.tv_sec, now.tv_nsec + grace.tv_nsec};
            if (kill_at.tv_nsec >= 1000000000L) {
                ++kill_at.tv_sec;
                kill_at.tv_nsec -= 1000000000L;
            }
        } else if (sig == kKillNow && !killed) {
            killed = true;
            kill(-hook, SIGKILL);
            signal_tree(self, SIGKILL);
        }
        int st = 0;
        for (pid_t r; (r = waitpid(-1, &st, WNOHANG)) > 0;)
            if (r == hook) {
                status = st;
                hook_ended = true;
            }
    }
    // The agent reads this once this process has exited.
    [[maybe_unused]] const auto w = write(status_fd, &status, sizeof status);
    close(status_fd);
    // Whatever the hook left running ends with its run. Killing our children makes their
    // children ours (subreaper); no child left means no descendant left.
    for (;;) {
        for_each_child(self, [](pid_t c) { kill(c, SIGKILL); });
        if (waitpid(-1, nullptr, 0) < 0 && errno == ECHILD)
            break;
    }
    _exit(0);
}

// Forks the attempt's supervisor with everything prepared before fork. Every signal is
// blocked across fork, so no handler of the agent's runs in the child.
} // namespace

pid_t spawn_supervisor(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                       int out_fd, int status_fd) {
    std::vector<char*> av, ev;
    for (const auto& a : argv)
        av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    for (const auto& e : env)
        ev.push_back(const_cast<char*>(e.c_str()));
    ev.push_back(nullptr);
    const auto grace_ns = static_cast<long long>(kHookStopGraceS * 1e9);
    const timespec grace{static_cast<time_t>(grace_ns / 1000000000LL),
                         static_cast<long>(grace_ns % 1000000000LL)};
    const pid_t agent = getpid();
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    const pid_t pid = fork();
    if (pid == 0)
        supervise(av.data(), ev.data(), out_fd, status_fd, agent, grace);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return pid;
}

} // namespace mxs
