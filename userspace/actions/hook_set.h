// The operator's hooks by name (config `hooks:`): one HookRunner each, the events each one
// subscribes to, and the runners a reload removed while their run goes on.
#pragma once

#include "actions/hook_runner.h"
#include "config/options.h"
#include "health/hook_event.h"

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mxs {

class HookSet {
  public:
    explicit HookSet(boost::asio::io_context& io) : io_(io) {}
    ~HookSet() = default; // each runner stops its run in progress (HookRunner::~HookRunner)
    HookSet(const HookSet&) = delete;
    HookSet& operator=(const HookSet&) = delete;

    // The hooks of a configuration, at start and on every reload. A runner of a hook still
    // configured (by name) stays: its run in progress, cooldown and retries; a changed spec
    // applies from its next run. A removed hook's runner goes at once when idle, else once its
    // run in progress has ended (no retry).
    void apply(const std::vector<HookConfig>& hooks);

    // Runs every hook subscribed to ev.event; false when one refused (busy, cooldown).
    bool dispatch(const HookEvent& ev);
    // Runs the hook `name` for ev whatever it subscribes to (the webhook's hook); false when
    // it refused or no hook has that name.
    bool fire(const std::string& name, const HookEvent& ev);

    // Agent shutdown: every hook still running gets SIGTERM, SIGKILL kHookStopGraceS later
    // (its supervisor sends them); returns once their processes are gone.
    void stop();

    // Every attempt and refusal of every hook (HookRunner::on_run).
    std::function<void(const HookRun&)> on_run;

  private:
    boost::asio::io_context& io_;
    std::vector<HookConfig> configs_;
    std::map<std::string, std::unique_ptr<HookRunner>> runners_;
    std::vector<std::unique_ptr<HookRunner>> retired_;
};

} // namespace mxs
