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

// The counters the kernel's per-server value and SmtpCounters share, by the same names.
template <class From> void add_shared(SmtpCounters& to, const From& from) {
    add_array(to.outcomes, from.outcomes);
    to.closed_before_greeting += from.closed_before_greeting;
    to.connect_retransmitted += from.connect_retransmitted;
    add_array(to.starttls, from.starttls);
    add_array(to.greetings, from.greetings);
    add_array(to.replies, from.replies);
}

} // namespace

void SmtpCounters::add(const mxs_smtp_stats& k) {
    add_shared(*this, k);
    connect.sum_ns += k.connect_sum_ns;
    greeting.sum_ns += k.greeting_sum_ns;
}

void SmtpCounters::add(const mxs_smtp_hist& k) {
    add_hist(connect, k.connect_hist);
    add_hist(greeting, k.greeting_hist);
}

void SmtpCounters::add(const SmtpCounters& o) {
    add_shared(*this, o);
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

} // namespace mxs
