// Runs an operator's hook command (issue 4; containment and reload: issue 12).
//
// argv is executed without a shell, in its own process group, with a minimal
// environment plus the event (MXSENSE_*), stdin from /dev/null, stdout/stderr
// captured, and no descriptor of the agent's but 0-2 (BPF maps and links stay
// out). One run at a time per hook; a cooldown after each finished run; failed
// runs retried with backoff.
//
// Containment: each attempt runs under its own supervisor, a forked copy of the
// agent (no exec) that is a child subreaper (PR_SET_CHILD_SUBREAPER) and forks
// the hook. Whatever the hook starts, even after setsid() or a double fork,
// stays a descendant of the supervisor: orphans reparent to it, not to init.
// When the hook's main process exits (or a timeout kills it) the supervisor
// SIGKILLs every process left and reaps them until it has no child; only then
// does it exit, so a finished attempt leaves nothing running. A hook is a
// command, not a service launcher: daemons it leaves behind die with its run.
// Why not a cgroup: the systemd unit has ProtectControlGroups=yes and no
// Delegate=, so the agent cannot create or kill cgroups there; a subreaper
// needs no privilege and works under any init (it reads /proc/PID/task/TID/
// children, CONFIG_PROC_CHILDREN, which Debian's kernels have).
#pragma once

#include "actions/hook_spec.h"
#include "actions/supervisor.h"
#include "health/hook_event.h"

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mxs {

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
    // Stops a run still in progress as stop() and wait_stopped() do, then returns.
    ~HookRunner();
    HookRunner(const HookRunner&) = delete;
    HookRunner& operator=(const HookRunner&) = delete;

    // Runs the hook for ev unless a run is in progress or the cooldown holds; every
    // attempt and every refusal is reported to on_run. False when refused.
    bool fire(const HookEvent& ev);
    // True from fire() until the last attempt (retries included) has ended.
    bool busy() const { return running_; }

    // A changed configuration (a reload): applies at once when idle, else when the
    // run in progress has ended (its attempts and cooldown follow the spec it started
    // with). The cooldown in force and the retry state are kept either way.
    void update(HookSpec spec);
    // The spec the next run starts with.
    const HookSpec& spec() const { return next_spec_ ? *next_spec_ : spec_; }

    // The hook was removed from the configuration (a reload): the attempt in progress
    // ends as it would (timeout included), without retries. False when nothing runs
    // (the runner may go at once); else on_idle says when it has ended.
    bool retire();

    // Agent shutdown: SIGTERM to every process of the attempt in progress (its
    // supervisor passes it on), SIGKILL to what is left kHookStopGraceS later; no
    // further attempt. wait_stopped() then blocks until the attempt's processes
    // are gone, or until `deadline` (then the supervisor itself is SIGKILLed).
    void stop();
    void wait_stopped(std::chrono::steady_clock::time_point deadline);

    // Kills (SIGKILL) and reaps the agent's children that are not a live supervisor: what
    // a hook left running after it killed its own supervisor (same uid: it can). The first
    // HookRunner makes the agent a child subreaper, so such orphans come to the agent, not
    // to init. The agent's only children are supervisors; it calls this on every sweep and
    // after each supervisor exits, and each call reaches one generation further down.
    // Returns how many processes it killed that had not been killed before.
    static std::size_t contain_strays();

    std::function<void(const HookRun&)> on_run;
    // Called (from a completion handler) when a run has ended and the runner is idle.
    std::function<void()> on_idle;

  private:
    void attempt(unsigned n);
    // Reads the attempt's output until EOF (gen: the attempt's; a completion of an older
    // attempt's read is dropped).
    void read_output(std::uint64_t gen);
    void reap(); // the supervisor has exited: collect the hook's status
    // The attempt ends when both its supervisor has exited and its output reached EOF.
    void maybe_finished();
    void finished(int status, bool timed_out);

    boost::asio::io_context& io_;
    HookSpec spec_;
    std::optional<HookSpec> next_spec_; // update() while a run is in progress
    HookEvent ev_;
    bool running_ = false;
    bool stopping_ = false; // stop(): no further attempt
    bool retiring_ = false; // retire(): no retry
    unsigned attempt_ = 0;
    int supervisor_ = -1;   // the attempt's supervisor (our child), -1 when none
    int status_fd_ = -1;    // the supervisor writes the hook's wait status here
    std::uint64_t gen_ = 0; // attempts started, so that a late completion finds its own
    bool exited_ = false;   // the supervisor has exited (reaped)
    bool eof_ = false;      // the output pipe reached EOF (or was given up on)
    int status_ = -1;       // the hook's wait status, once exited_
    std::unique_ptr<boost::asio::posix::stream_descriptor> pidfd_, out_;
    boost::asio::steady_timer timer_;
    std::chrono::steady_clock::time_point cooldown_until_{};
    std::string output_;
    std::array<char, 1024> buf_{};
    bool timed_out_ = false;
};

} // namespace mxs
