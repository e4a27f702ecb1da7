// Runs an operator's hook command (issue 4, runner only: not wired to verdicts yet).
//
// argv is executed without a shell, in its own process group, with a minimal
// environment plus the event (MXSENSE_*), stdin from /dev/null, stdout/stderr
// captured, and no descriptor of the agent's but 0-2 (BPF maps and links stay
// out). A timeout kills the whole group. One run at a time per hook; a
// cooldown after each finished run; failed runs retried with backoff.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mxs {

struct HookSpec {
    std::string name;
    std::vector<std::string> argv;
    double timeout_s = 30;
    double cooldown_s = 60;
    unsigned retries = 2;
    double backoff_s = 5; // doubled after each failed attempt
};

struct HookEvent {
    std::string event; // target_down, target_up, domain_failover, domain_failback
    std::string domain, target, from, to, state, reason;
};

struct HookRun {
    std::string hook, event;
    std::string result;   // success | failure | timeout | error | busy | cooldown
    int exit_status = -1; // exit code, or -signal
    unsigned attempt = 0;
    std::string output; // the last 4 KiB of stdout and stderr
};

class HookRunner {
  public:
    HookRunner(boost::asio::io_context& io, HookSpec spec);
    ~HookRunner();
    HookRunner(const HookRunner&) = delete;
    HookRunner& operator=(const HookRunner&) = delete;

    // Runs the hook for ev unless a run is in progress or the cooldown holds; every
    // attempt and every refusal is reported to on_run. False when refused.
    bool fire(const HookEvent& ev);
    bool busy() const { return running_; }

    std::function<void(const HookRun&)> on_run;

  private:
    void attempt(unsigned n);
    void finished(int status, bool timed_out);

    boost::asio::io_context& io_;
    HookSpec spec_;
    HookEvent ev_;
    bool running_ = false;
    unsigned attempt_ = 0;
    int pid_ = -1;
    std::unique_ptr<boost::asio::posix::stream_descriptor> pidfd_, out_;
    boost::asio::steady_timer timer_;
    std::chrono::steady_clock::time_point cooldown_until_{};
    std::string output_;
    std::array<char, 1024> buf_{};
    bool timed_out_ = false;
};

} // namespace mxs
