#include "hook_runner.h"

#include "privileges.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <poll.h>
#include <pthread.h>
#include <set>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

namespace mxs {
namespace {

namespace asio = boost::asio;
constexpr std::size_t kOutputKeep = 4096;
// The agent asks an attempt's supervisor to kill it at once (the timeout) with this
// signal; SIGTERM asks for a graceful stop (SIGTERM first, SIGKILL kHookStopGraceS later).
constexpr int kKillNow = SIGUSR1;

std::chrono::steady_clock::duration seconds(double s) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(s));
}

std::vector<std::string> environment(const HookEvent& ev) {
    return {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG=C",
            "MXSENSE_EVENT=" + ev.event,
            "MXSENSE_DOMAIN=" + ev.domain,
            "MXSENSE_TARGET=" + ev.target,
            "MXSENSE_FROM=" + ev.from,
            "MXSENSE_TO=" + ev.to,
            "MXSENSE_STATE=" + ev.state,
            "MXSENSE_REASON=" + ev.reason};
}

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
pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, int out_fd,
            int status_fd) {
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

// The supervisors of runs in progress (all runners): the agent's only wanted children.
std::set<pid_t>& live_supervisors() {
    static std::set<pid_t> s;
    return s;
}

// Strays killed and not yet reaped: each is counted once.
std::set<pid_t>& killed_strays() {
    static std::set<pid_t> s;
    return s;
}

// Calls fn(child) for every child of this process, whichever of its threads is the parent.
template <typename Fn> void for_each_own_child(Fn fn) {
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/proc/self/task", ec), end; !ec && it != end;
         it.increment(ec)) {
        std::ifstream in(it->path() / "children");
        for (pid_t c; in >> c;)
            fn(c);
    }
}

} // namespace

HookRunner::HookRunner(asio::io_context& io, HookSpec spec)
    : io_(io), spec_(std::move(spec)), timer_(io) {
    // What a hook leaves when its supervisor dies comes to the agent (contain_strays).
    prctl(PR_SET_CHILD_SUBREAPER, 1);
}

std::size_t HookRunner::contain_strays() {
    std::size_t killed = 0;
    for_each_own_child([&](pid_t c) {
        if (live_supervisors().count(c))
            return;
        kill(c, SIGKILL); // our child, not reaped yet: the pid cannot have been reused
        if (killed_strays().insert(c).second)
            ++killed;
    });
    for (auto it = killed_strays().begin(); it != killed_strays().end();)
        it = waitpid(*it, nullptr, WNOHANG) != 0 ? killed_strays().erase(it) : std::next(it);
    if (killed)
        spdlog::warn("hooks: killed {} process(es) a hook left running after its supervisor "
                     "was killed",
                     killed);
    return killed;
}

HookRunner::~HookRunner() {
    if (supervisor_ > 0) {
        stop();
        wait_stopped(std::chrono::steady_clock::now() + seconds(kHookStopGraceS + 2));
    }
    if (status_fd_ >= 0)
        close(status_fd_);
}

bool HookRunner::fire(const HookEvent& ev) {
    auto refuse = [&](const char* why) {
        spdlog::warn("hook {}: {} not run ({})", spec_.name, ev.event, why);
        if (on_run)
            on_run({spec_.name, ev.event, why, -1, 0, {}});
        return false;
    };
    if (running_)
        return refuse("busy");
    if (std::chrono::steady_clock::now() < cooldown_until_)
        return refuse("cooldown");
    ev_ = ev;
    running_ = true;
    stopping_ = retiring_ = false;
    attempt(1);
    return true;
}

void HookRunner::update(HookSpec spec) {
    retiring_ = false;
    if (spec == spec_) {
        next_spec_.reset();
        return;
    }
    if (running_) {
        spdlog::info("hook {}: changed; the run in progress ends as it started, the next "
                     "runs as changed",
                     spec_.name);
        next_spec_ = std::move(spec);
    } else {
        spec_ = std::move(spec);
    }
}

bool HookRunner::retire() {
    if (!running_)
        return false;
    retiring_ = true;
    if (supervisor_ <= 0) { // waiting to retry: no retry, so it has ended
        timer_.cancel();
        running_ = false;
        asio::post(io_, [this] {
            if (on_idle)
                on_idle();
        });
        return true;
    }
    spdlog::info("hook {}: removed; its run in progress ends first", spec_.name);
    return true;
}

void HookRunner::attempt(unsigned n) {
    attempt_ = n;
    output_.clear();
    timed_out_ = false;
    int out[2], st[2];
    if (pipe2(out, O_CLOEXEC) != 0) {
        finished(-1, false);
        return;
    }
    if (pipe2(st, O_CLOEXEC) != 0) {
        close(out[0]);
        close(out[1]);
        finished(-1, false);
        return;
    }
    supervisor_ = spawn(spec_.argv, environment(ev_), out[1], st[1]);
    if (supervisor_ > 0)
        live_supervisors().insert(supervisor_);
    close(out[1]);
    close(st[1]);
    const int pidfd =
        supervisor_ > 0 ? static_cast<int>(syscall(SYS_pidfd_open, supervisor_, 0)) : -1;
    if (pidfd < 0) {
        if (supervisor_ > 0) {
            kill(supervisor_, SIGKILL);
            waitpid(supervisor_, nullptr, 0);
            live_supervisors().erase(supervisor_);
        }
        supervisor_ = -1;
        close(out[0]);
        close(st[0]);
        finished(-1, false);
        return;
    }
    status_fd_ = st[0];
    out_ = std::make_unique<asio::posix::stream_descriptor>(io_, out[0]);
    pidfd_ = std::make_unique<asio::posix::stream_descriptor>(io_, pidfd);

    // Output: read until EOF, keep the tail.
    auto reader = std::make_shared<std::function<void()>>();
    *reader = [this, reader] {
        out_->async_read_some(asio::buffer(buf_),
                              [this, reader](boost::system::error_code ec, std::size_t n) {
                                  if (ec)
                                      return;
                                  output_.append(buf_.data(), n);
                                  if (output_.size() > kOutputKeep)
                                      output_.erase(0, output_.size() - kOutputKeep);
                                  (*reader)();
                              });
    };
    (*reader)();

    timer_.expires_after(seconds(spec_.timeout_s));
    timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || supervisor_ <= 0)
            return;
        timed_out_ = true;
        kill(supervisor_, kKillNow); // every process of the run, setsid'ed ones included
    });
    // The pidfd becomes readable when the supervisor exits: the hook and everything it
    // started are gone by then.
    pidfd_->async_wait(asio::posix::stream_descriptor::wait_read,
                       [this](boost::system::error_code ec) {
                           if (!ec)
                               reap();
                       });
}

void HookRunner::reap() {
    waitpid(supervisor_, nullptr, 0);
    live_supervisors().erase(supervisor_);
    supervisor_ = -1;
    contain_strays(); // the supervisor's orphans, if it was killed before its hook
    int status = -1;
    if (read(status_fd_, &status, sizeof status) != static_cast<ssize_t>(sizeof status))
        status = -1; // the supervisor could not fork the hook
    close(status_fd_);
    status_fd_ = -1;
    timer_.cancel();
    finished(status, timed_out_);
}

void HookRunner::finished(int status, bool timed_out) {
    HookRun run{spec_.name, ev_.event, "", -1, attempt_, {}};
    if (status == -1 && !timed_out) {
        run.result = "error";
    } else if (timed_out) {
        run.result = "timeout";
        run.exit_status = -SIGKILL;
    } else if (WIFEXITED(status)) {
        run.exit_status = WEXITSTATUS(status);
        run.result = run.exit_status == 0 ? "success" : "failure";
    } else {
        run.exit_status = WIFSIGNALED(status) ? -WTERMSIG(status) : -1;
        run.result = "failure";
    }
    // Drain what the pipe still holds before reporting.
    if (out_) {
        boost::system::error_code ec;
        out_->non_blocking(true, ec);
        for (std::size_t n; (n = out_->read_some(asio::buffer(buf_), ec)) > 0 && !ec;)
            output_.append(buf_.data(), n);
        out_.reset();
    }
    pidfd_.reset();
    run.output = output_;
    // The hook's own words (its last kOutputKeep bytes) go to the agent's log, a line each.
    for (std::size_t at = 0; at < output_.size();) {
        const auto nl = output_.find('\n', at);
        const auto end = nl == std::string::npos ? output_.size() : nl;
        if (end > at)
            spdlog::info("hook {}: | {}", spec_.name, output_.substr(at, end - at));
        at = end + 1;
    }
    spdlog::info("hook {}: {} attempt {}: {} (exit {})", spec_.name, ev_.event, attempt_,
                 run.result, run.exit_status);
    if (on_run)
        on_run(run);
    if (run.result != "success" && attempt_ <= spec_.retries && !stopping_ && !retiring_) {
        const double wait = spec_.backoff_s * static_cast<double>(1u << (attempt_ - 1));
        timer_.expires_after(seconds(wait));
        timer_.async_wait([this](boost::system::error_code ec) {
            if (!ec)
                attempt(attempt_ + 1);
        });
        return;
    }
    running_ = false;
    cooldown_until_ = std::chrono::steady_clock::now() + seconds(spec_.cooldown_s);
    if (next_spec_) {
        spec_ = std::move(*next_spec_);
        next_spec_.reset();
    }
    if (on_idle)
        on_idle();
}

void HookRunner::stop() {
    stopping_ = true;
    timer_.cancel(); // neither the timeout's kill nor a retry
    if (supervisor_ > 0) {
        spdlog::warn("hook {}: the agent stops: SIGTERM to its run, SIGKILL {:g} s later",
                     spec_.name, kHookStopGraceS);
        kill(supervisor_, SIGTERM);
    } else {
        running_ = false;
    }
}

void HookRunner::wait_stopped(std::chrono::steady_clock::time_point deadline) {
    if (supervisor_ <= 0)
        return;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{pidfd_->native_handle(), POLLIN, 0};
        const int r = poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, left.count())));
        if (r > 0)
            break;
        if (r == 0) { // the supervisor did not end in time: the last resort
            spdlog::error("hook {}: its supervisor did not end; SIGKILL to it", spec_.name);
            kill(supervisor_, SIGKILL);
            break;
        }
        if (errno != EINTR)
            break;
    }
    int status = -1;
    waitpid(supervisor_, nullptr, 0);
    live_supervisors().erase(supervisor_);
    supervisor_ = -1;
    contain_strays();
    if (read(status_fd_, &status, sizeof status) != static_cast<ssize_t>(sizeof status))
        status = -1;
    close(status_fd_);
    status_fd_ = -1;
    out_.reset();
    pidfd_.reset();
    running_ = false;
    spdlog::info("hook {}: {} attempt {}: stopped with the agent (wait status {})", spec_.name,
                 ev_.event, attempt_, status);
}

} // namespace mxs
