#include "health/verdict.h"

#include "counters/histogram.h"

#include <algorithm>
#include <fmt/format.h>

namespace mxs {
namespace {

int severity(TargetState s) {
    switch (s) {
    case TargetState::Healthy:
        return 0;
    case TargetState::Degraded:
        return 1;
    case TargetState::Down:
        return 2;
    default:
        return -1;
    }
}

void merge_sparse(SparseLatency& into, const SparseLatency& from) {
    SparseLatency out;
    out.reserve(into.size() + from.size());
    auto a = into.cbegin();
    auto b = from.cbegin();
    while (a != into.cend() || b != from.cend()) {
        if (b == from.end() || (a != into.end() && a->first < b->first)) {
            out.push_back(*a++);
        } else if (a == into.end() || b->first < a->first) {
            out.push_back(*b++);
        } else {
            out.emplace_back(a->first, a->second + b->second);
            ++a;
            ++b;
        }
    }
    into = std::move(out);
}

std::uint64_t sparse_count(const SparseLatency& s) {
    std::uint64_t n = 0;
    for (const auto& [b, c] : s)
        n += c;
    return n;
}

// "4/4 connections refused, 1/4 …", most frequent cause first.
std::string failure_text(const WindowEvidence& e) {
    std::vector<std::pair<std::string, std::uint64_t>> causes(e.causes.begin(), e.causes.end());
    std::stable_sort(causes.begin(), causes.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    std::string out;
    std::uint64_t named = 0;
    for (const auto& [cause, n] : causes) {
        if (n == 0)
            continue;
        named += n;
        out += fmt::format("{}{}/{} {}", out.empty() ? "" : ", ", n, e.attempts, cause);
    }
    if (named < e.errors + e.timeouts) // figures without a named cause
        out += fmt::format("{}{}/{} {} failed", out.empty() ? "" : ", ",
                           e.errors + e.timeouts - named, e.attempts, e.noun);
    return out;
}

} // namespace

const char* state_name(TargetState s) {
    switch (s) {
    case TargetState::Healthy:
        return "HEALTHY";
    case TargetState::Degraded:
        return "DEGRADED";
    case TargetState::Down:
        return "DOWN";
    default:
        return "UNKNOWN";
    }
}

double sparse_p99(const SparseLatency& s) {
    if (s.empty())
        return 0;
    FineHistogram h;
    for (const auto& [b, c] : s)
        if (b < h.counts.size())
            h.counts[b] += c;
    const double q = quantile_seconds(h, 0.99);
    return q == q ? q : 0; // NaN: no samples
}

void WindowEvidence::merge(const WindowEvidence& o) {
    attempts += o.attempts;
    errors += o.errors;
    timeouts += o.timeouts;
    retransmitted += o.retransmitted;
    for (const auto& [cause, n] : o.causes)
        causes[cause] += n;
    merge_sparse(latency, o.latency);
    samples = sparse_count(latency);
    p99_s = sparse_p99(latency);
    if (noun == "attempts")
        noun = o.noun;
}

std::string human_seconds(double s) {
    const double ms = s * 1000;
    if (ms < 10)
        return fmt::format("{:.1f} ms", ms);
    if (ms < 1000)
        return fmt::format("{:.0f} ms", ms);
    return fmt::format("{:.1f} s", s);
}

Judgement judge(const std::deque<WindowEvidence>& history, const Thresholds& t,
                const std::string& label) {
    Judgement j;
    if (history.empty())
        return j;
    const auto& e = history.back();
    if (e.attempts == 0 || e.attempts < t.min_attempts)
        return j; // no evidence this window
    const double ratio =
        static_cast<double>(e.errors + e.timeouts) / static_cast<double>(e.attempts);
    if (ratio >= t.degraded_failure_ratio) {
        j.state = ratio >= t.down_failure_ratio ? TargetState::Down : TargetState::Degraded;
        j.reason = fmt::format("{}: {}", label, failure_text(e));
        return j;
    }
    // The horizon: the newest windows that reach the minimum sample count.
    SparseLatency lat;
    std::uint64_t samples = 0, tried = 0, retrans = 0;
    unsigned lat_windows = 0, loss_windows = 0;
    unsigned w = 0;
    for (auto it = history.rbegin(); it != history.rend() && w < t.latency_horizon; ++it) {
        ++w;
        if (samples < t.latency_min_samples) {
            merge_sparse(lat, it->latency);
            samples = sparse_count(lat);
            lat_windows = w;
        }
        if (tried < t.latency_min_samples) {
            tried += it->attempts;
            retrans += it->retransmitted;
            loss_windows = w;
        }
    }
    std::vector<std::string> bad;
    if (samples >= t.latency_min_samples && samples > 0) {
        const double p99 = sparse_p99(lat);
        if (p99 >= t.degraded_p99_s)
            bad.push_back(fmt::format(
                "p99 {} over {} samples in {} window{} (limit {})", human_seconds(p99), samples,
                lat_windows, lat_windows == 1 ? "" : "s", human_seconds(t.degraded_p99_s)));
    }
    if (tried >= t.latency_min_samples && tried > 0 &&
        static_cast<double>(retrans) / static_cast<double>(tried) >= t.degraded_loss_ratio)
        bad.push_back(fmt::format("{}/{} {} retransmitted in {} window{} (network loss)", retrans,
                                  tried, e.noun, loss_windows, loss_windows == 1 ? "" : "s"));
    if (!bad.empty()) {
        j.state = TargetState::Degraded;
        j.reason = fmt::format("{}: {}", label, fmt::join(bad, ", "));
        return j;
    }
    j.state = TargetState::Healthy;
    j.reason = label + " ok";
    if (e.samples > 0)
        j.reason += ", p99 " + human_seconds(e.p99_s);
    if (e.retransmitted > 0)
        j.reason += fmt::format(", {}/{} retransmitted", e.retransmitted, e.attempts);
    return j;
}

TargetState judge(const WindowEvidence& e, const Thresholds& t) {
    return judge(std::deque<WindowEvidence>{e}, t, "").state;
}

Judgement combine_transports(const std::vector<Judgement>& parts) {
    Judgement out;
    std::vector<const Judgement*> known;
    for (const auto& p : parts)
        if (p.state != TargetState::Unknown)
            known.push_back(&p);
    if (known.empty())
        return out;
    const bool all_down = std::all_of(known.begin(), known.end(), [](const Judgement* j) {
        return j->state == TargetState::Down;
    });
    const bool any_bad = std::any_of(known.begin(), known.end(), [](const Judgement* j) {
        return j->state == TargetState::Down || j->state == TargetState::Degraded;
    });
    out.state = all_down  ? TargetState::Down
                : any_bad ? TargetState::Degraded
                          : TargetState::Healthy;
    std::stable_sort(known.begin(), known.end(), [](const Judgement* a, const Judgement* b) {
        return severity(a->state) > severity(b->state);
    });
    for (const auto* j : known)
        out.reason += (out.reason.empty() ? "" : "; ") + j->reason;
    return out;
}

std::optional<Transition> TargetVerdict::observe(TargetState window) {
    if (since_change_ < ~0u / 2)
        ++since_change_;
    const bool held = since_change_ < policy_.hold_down_windows;

    if (window == TargetState::Unknown) {
        // A window without evidence neither agrees nor disagrees: the streak waits.
        ++silent_;
        if (silent_ >= policy_.unknown_after && state_ != TargetState::Unknown && !held) {
            const Transition t{state_, TargetState::Unknown};
            state_ = TargetState::Unknown;
            since_change_ = 0;
            return t;
        }
        return std::nullopt;
    }
    silent_ = 0;
    if (window == candidate_) {
        ++streak_;
    } else {
        candidate_ = window;
        streak_ = 1;
    }
    if (candidate_ == state_)
        return std::nullopt;
    // Better states need `rise` windows, worse ones `fall`; out of UNKNOWN, by direction too.
    const bool better = state_ == TargetState::Unknown ? candidate_ == TargetState::Healthy
                                                       : severity(candidate_) < severity(state_);
    const unsigned needed = better ? policy_.rise : policy_.fall;
    if (streak_ < needed || held)
        return std::nullopt;
    const Transition t{state_, candidate_};
    state_ = candidate_;
    since_change_ = 0;
    return t;
}

TargetVerdict::Pending TargetVerdict::pending() const {
    Pending p;
    if (candidate_ == state_ || candidate_ == TargetState::Unknown || streak_ == 0)
        return p;
    const bool better = state_ == TargetState::Unknown ? candidate_ == TargetState::Healthy
                                                       : severity(candidate_) < severity(state_);
    p.candidate = candidate_;
    p.needed = better ? policy_.rise : policy_.fall;
    // Silent windows neither break nor extend a streak, so it may predate the last change.
    p.streak = std::min(streak_, p.needed);
    // observe() lets a change happen in the window where since_change_ (counted first) reaches
    // the hold-down.
    p.held =
        since_change_ < policy_.hold_down_windows ? policy_.hold_down_windows - since_change_ : 0;
    return p;
}

std::string pending_reason(const TargetVerdict::Pending& p, const std::string& window_reason) {
    if (p.candidate == TargetState::Unknown)
        return {};
    const std::string figures = window_reason.empty() ? "" : " (" + window_reason + ")";
    if (p.streak >= p.needed)
        return fmt::format("{} of {} {} windows, held down {} more window{}{}", p.streak, p.needed,
                           state_name(p.candidate), p.held, p.held == 1 ? "" : "s", figures);
    return fmt::format("{} of {} {} windows needed{}", p.streak, p.needed, state_name(p.candidate),
                       figures);
}

std::optional<std::size_t> effective_mx(const std::vector<TargetState>& in_sender_order) {
    const auto it = std::find_if(in_sender_order.begin(), in_sender_order.end(), [](TargetState s) {
        return s == TargetState::Healthy || s == TargetState::Degraded;
    });
    if (it == in_sender_order.end())
        return std::nullopt;
    return static_cast<std::size_t>(it - in_sender_order.begin());
}

std::optional<std::size_t> failover_target(const std::vector<TargetState>& by_preference) {
    if (by_preference.empty() || by_preference[0] != TargetState::Down)
        return std::nullopt;
    const auto it = std::find(by_preference.begin() + 1, by_preference.end(), TargetState::Healthy);
    if (it == by_preference.end())
        return std::nullopt;
    return static_cast<std::size_t>(it - by_preference.begin());
}

bool all_down(const std::vector<TargetState>& window) {
    return !window.empty() && std::all_of(window.begin(), window.end(),
                                          [](TargetState s) { return s == TargetState::Down; });
}

} // namespace mxs
