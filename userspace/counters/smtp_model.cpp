#include "counters/smtp_model.h"

#include "base/addr.h"

#include <algorithm>
#include <unordered_map>
#include <vector>

namespace mxs {
namespace {

void add_hist(FineHistogram& h, const __u64 (&k)[MXS_HIST_BUCKETS]) {
    for (std::size_t i = 0; i < h.counts.size(); ++i)
        h.counts[i] += k[i];
}

template <std::size_t N, class T> void add_array(std::array<std::uint64_t, N>& a, const T& b) {
    for (std::size_t i = 0; i < N; ++i)
        a[i] += b[i];
}

} // namespace

void SmtpCounters::add(const mxs_smtp_stats& k) {
    add_array(outcomes, k.outcomes);
    closed_before_greeting += k.closed_before_greeting;
    connect_retransmitted += k.connect_retransmitted;
    add_array(starttls, k.starttls);
    add_array(greetings, k.greetings);
    add_array(replies, k.replies);
    connect.sum_ns += k.connect_sum_ns;
    greeting.sum_ns += k.greeting_sum_ns;
}

void SmtpCounters::add(const mxs_smtp_hist& k) {
    add_hist(connect, k.connect_hist);
    add_hist(greeting, k.greeting_hist);
}

void SmtpCounters::add(const SmtpCounters& o) {
    add_array(outcomes, o.outcomes);
    closed_before_greeting += o.closed_before_greeting;
    connect_retransmitted += o.connect_retransmitted;
    add_array(starttls, o.starttls);
    add_array(greetings, o.greetings);
    add_array(replies, o.replies);
    connect.add(o.connect);
    greeting.add(o.greeting);
}

const char* smtp_code_name(std::uint32_t slot) {
    static constexpr const char* names[MXS_SMTP_CODE_MAX] = {
        "220", "250", "354", "421", "450", "451", "452", "454", "500", "501", "502", "503",
        "504", "550", "551", "552", "553", "554", "2xx", "3xx", "4xx", "5xx", "tls"};
    return slot < MXS_SMTP_CODE_MAX ? names[slot] : "unknown";
}

const char* smtp_outcome_name(std::uint32_t outcome) {
    static constexpr const char* names[MXS_SMTP_OUTCOME_MAX] = {"established", "refused", "timeout",
                                                                "unreachable"};
    return outcome < MXS_SMTP_OUTCOME_MAX ? names[outcome] : "unknown";
}

const char* starttls_result_name(std::uint32_t result) {
    return result == MXS_STARTTLS_STARTED ? "started" : "refused";
}

void SmtpAggregator::set_kernel_totals(
    std::map<mxs_server_key, SmtpCounters, ServerKeyLess> totals) {
    kernel_ = std::move(totals);
    std::unordered_map<std::string, std::uint64_t> activity;
    for (const auto& [k, c] : kernel_) {
        std::uint64_t n = 0;
        for (auto v : c.outcomes)
            n += v;
        activity[addr_to_string(k.addr)] += n;
    }
    labeler_.offer_by_activity(activity);
}

void SmtpAggregator::add_timeouts(const mxs_server_key& key, std::uint64_t n) {
    timeouts_[key] += n;
    labeler_.offer({addr_to_string(key.addr)});
}

std::map<std::string, SmtpCounters> SmtpAggregator::client_by_address(std::uint16_t port) const {
    std::map<std::string, SmtpCounters> out;
    for (const auto& [k, c] : kernel_)
        if (k.role == MXS_ROLE_CLIENT && k.port == port)
            out[addr_to_string(k.addr)].add(c);
    for (const auto& [k, n] : timeouts_)
        if (k.role == MXS_ROLE_CLIENT && k.port == port)
            out[addr_to_string(k.addr)].outcomes[MXS_SMTP_TIMEOUT] += n;
    return out;
}

std::map<SmtpSeriesKey, SmtpCounters> SmtpAggregator::series() const {
    std::map<SmtpSeriesKey, SmtpCounters> out;
    auto key_of = [&](const mxs_server_key& k) {
        return SmtpSeriesKey{labeler_.label(addr_to_string(k.addr)), role_name(k.role)};
    };
    for (const auto& [k, c] : kernel_)
        out[key_of(k)].add(c);
    for (const auto& [k, n] : timeouts_)
        out[key_of(k)].outcomes[MXS_SMTP_TIMEOUT] += n;
    return out;
}

} // namespace mxs
