#include "actions/hook_runner.h"

#include "actions/supervisor.h"
#include "base/privileges.h"

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
    ++gen_;
    exited_ = eof_ = false;
    status_ = -1;
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
    supervisor_ = spawn_supervisor(spec_.argv, environment(ev_), out[1], st[1]);
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

    read_output(gen_);

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
                       [this, gen = gen_](boost::system::error_code ec) {
                           if (!ec && gen == gen_ && supervisor_ > 0)
                               reap();
                       });
}

// The output, until EOF, its tail kept. The last bytes and the supervisor's exit may be ready
// in the same turn of the loop in either order: the attempt ends only once both are in
// (maybe_finished), so no read is left pending on a descriptor that is gone and no byte is
// lost. (An earlier version ended at the exit and freed the descriptor under a read whose
// completion, already queued with data, then re-armed it through a null pointer.)
void HookRunner::read_output(std::uint64_t gen) {
    out_->async_read_some(
        asio::buffer(buf_), [this, gen](boost::system::error_code ec, std::size_t n) {
            if (gen != gen_ || !out_)
                return; // an attempt that has ended (stop(), the agent's exit)
            output_.append(buf_.data(), n);
            if (output_.size() > kOutputKeep)
                output_.erase(0, output_.size() - kOutputKeep);
            if (ec) { // EOF: every writer is gone; or the read was given up on (reap())
                eof_ = true;
                maybe_finished();
                return;
            }
            read_output(gen);
        });
}

void HookRunner::reap() {
    waitpid(supervisor_, nullptr, 0);
    live_supervisors().erase(supervisor_);
    supervisor_ = -1;
    contain_strays(); // the supervisor's orphans, if it was killed before its hook
    if (read(status_fd_, &status_, sizeof status_) != static_cast<ssize_t>(sizeof status_))
        status_ = -1; // the supervisor could not fork the hook
    close(status_fd_);
    status_fd_ = -1;
    timer_.cancel();
    exited_ = true;
    if (!eof_) {
        // Every process of the run is gone, so EOF is due at once; a writer that escaped the
        // containment must not hold the attempt open: give the read a second, then end it.
        timer_.expires_after(std::chrono::seconds(1));
        timer_.async_wait([this, gen = gen_](boost::system::error_code ec) {
            if (!ec && gen == gen_ && out_)
                out_->cancel();
        });
    }
    maybe_finished();
}

void HookRunner::maybe_finished() {
    if (!exited_ || !eof_)
        return;
    exited_ = eof_ = false;
    timer_.cancel();
    finished(status_, timed_out_);
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
    // The hook's own words (its last kOutputKeep bytes) go to the agent's log, a line each; a
    // failed run (and what it said) is a warning, a successful one information.
    const auto level = run.result == "success" ? spdlog::level::info : spdlog::level::warn;
    for (std::size_t at = 0; at < output_.size();) {
        const auto nl = output_.find('\n', at);
        const auto end = nl == std::string::npos ? output_.size() : nl;
        if (end > at)
            spdlog::log(level, "hook {}: | {}", spec_.name, output_.substr(at, end - at));
        at = end + 1;
    }
    spdlog::log(level, "hook {}: {} attempt {}: {} (exit {})", spec_.name, ev_.event, attempt_,
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
