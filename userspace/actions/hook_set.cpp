#include "actions/hook_set.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>

namespace mxs {

void HookSet::apply(const std::vector<HookConfig>& hooks) {
    std::map<std::string, std::unique_ptr<HookRunner>> next;
    for (const auto& h : hooks) {
        HookSpec spec = h; // the configured hook without its events
        std::unique_ptr<HookRunner> r;
        if (auto it = runners_.find(h.name); it != runners_.end()) {
            r = std::move(it->second);
            runners_.erase(it);
        } else if (auto rt = std::find_if(retired_.begin(), retired_.end(),
                                          [&](const auto& x) { return x->spec().name == h.name; });
                   rt != retired_.end()) { // removed and added back while its run goes on
            r = std::move(*rt);
            retired_.erase(rt);
        }
        if (r) {
            r->update(std::move(spec));
        } else {
            r = std::make_unique<HookRunner>(io_, std::move(spec));
            r->on_run = [this](const HookRun& run) {
                if (on_run)
                    on_run(run);
            };
            r->on_idle = [this, raw = r.get()] {
                // Not from within the runner's own handler: a retired runner goes afterwards.
                boost::asio::post(io_, [this, raw] {
                    std::erase_if(retired_,
                                  [&](const auto& x) { return x.get() == raw && !raw->busy(); });
                });
            };
        }
        next.emplace(h.name, std::move(r));
    }
    for (auto& [name, r] : runners_) // removed from the configuration
        if (r->retire())
            retired_.push_back(std::move(r));
    runners_ = std::move(next);
    configs_ = hooks;
}

bool HookSet::dispatch(const HookEvent& ev) {
    bool accepted = true;
    for (const auto& h : configs_)
        if (std::find(h.events.begin(), h.events.end(), ev.event) != h.events.end())
            accepted = fire(h.name, ev) && accepted;
    return accepted;
}

bool HookSet::fire(const std::string& name, const HookEvent& ev) {
    const auto it = runners_.find(name);
    return it != runners_.end() && it->second->fire(ev);
}

void HookSet::stop() {
    for (auto& [name, r] : runners_)
        r->stop();
    for (auto& r : retired_)
        r->stop();
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(kHookStopGraceS + 2));
    for (auto& [name, r] : runners_)
        r->wait_stopped(deadline);
    for (auto& r : retired_)
        r->wait_stopped(deadline);
    runners_.clear();
    retired_.clear();
}

} // namespace mxs
