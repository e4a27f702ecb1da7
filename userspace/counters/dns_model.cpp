#include "counters/dns_model.h"

#include "base/addr.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

namespace mxs {

void DnsCounters::add(const mxs_dns_stats& k) {
    queries += k.queries;
    for (std::size_t i = 0; i < responses.size(); ++i)
        responses[i] += k.responses[i];
    truncated += k.truncated;
    unsolicited += k.unsolicited;
    mismatched += k.mismatched;
    matched_without_question += k.matched_without_question;
    retried += k.retried;
    unreachable += k.unreachable;
    latency.sum_ns += k.latency_sum_ns;
}

void DnsCounters::add(const mxs_dns_hist& k) {
    for (std::size_t i = 0; i < latency.counts.size(); ++i)
        latency.counts[i] += k.hist[i];
}

void DnsCounters::add(const DnsCounters& o) {
    queries += o.queries;
    for (std::size_t i = 0; i < responses.size(); ++i)
        responses[i] += o.responses[i];
    truncated += o.truncated;
    unsolicited += o.unsolicited;
    mismatched += o.mismatched;
    matched_without_question += o.matched_without_question;
    retried += o.retried;
    unanswered += o.unanswered;
    unreachable += o.unreachable;
    latency.add(o.latency);
}

const char* rcode_name(std::uint32_t slot) {
    static constexpr const char* names[MXS_RCODE_MAX] = {
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "OTHER"};
    return slot < MXS_RCODE_MAX ? names[slot] : "OTHER";
}

} // namespace mxs
