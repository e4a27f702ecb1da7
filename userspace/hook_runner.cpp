#include "hook_runner.h"

#include "privileges.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mxs {
namespace {

namespace asio = boost::asio;
constexpr std::size_t kOutputKeep = 4096;

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

// fork + exec with everything prepared before fork: the child only calls
// async-signal-safe functions.
int spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, int out_fd) {
    std::vector<char*> av, ev;
    for (const auto& a : argv)
        av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    for (const auto& e : env)
        ev.push_back(const_cast<char*>(e.c_str()));
    ev.push_back(nullptr);
    const pid_t pid = fork();
    if (pid != 0)
        return pid;
    setpgid(0, 0); // its own group: a timeout kills grandchildren too
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
    execve(av[0], av.data(), ev.data());
    _exit(127);
}

} // namespace

HookRunner::HookRunner(asio::io_context& io, HookSpec spec)
    : io_(io), spec_(std::move(spec)), timer_(io) {}

HookRunner::~HookRunner() {
    if (pid_ > 0) {
        kill(-pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
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
    attempt(1);
    return true;
}

void HookRunner::attempt(unsigned n) {
    attempt_ = n;
    output_.clear();
    timed_out_ = false;
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        finished(-1, false);
        return;
    }
    pid_ = spawn(spec_.argv, environment(ev_), pipefd[1]);
    close(pipefd[1]);
    if (pid_ < 0) {
        close(pipefd[0]);
        finished(-1, false);
        return;
    }
    const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
    out_ = std::make_unique<asio::posix::stream_descriptor>(io_, pipefd[0]);
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
        if (ec || pid_ <= 0)
            return;
        timed_out_ = true;
        kill(-pid_, SIGKILL); // the whole group, grandchildren included
    });
    // The pidfd becomes readable when the child exits.
    pidfd_->async_wait(asio::posix::stream_descriptor::wait_read,
                       [this](boost::system::error_code ec) {
                           if (ec)
                               return;
                           int status = 0;
                           waitpid(pid_, &status, 0);
                           // Whatever the hook left running in its group goes with it.
                           kill(-pid_, SIGKILL);
                           pid_ = -1;
                           timer_.cancel();
                           finished(status, timed_out_);
                       });
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
    if (run.result != "success" && attempt_ <= spec_.retries) {
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
}

} // namespace mxs
