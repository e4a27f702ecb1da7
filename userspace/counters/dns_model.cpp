#include "counters/dns_model.h"

#include "base/addr.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

namespace mxs {

namespace {

// The counters the kernel's per-server value and DnsCounters share, by the same names: the one
// list of them, for adding either to DnsCounters.
template <class From> void add_shared(DnsCounters& to, const From& from) {
    to.queries += from.queries;
    for (std::size_t i = 0; i < to.responses.size(); ++i)
        to.responses[i] += from.responses[i];
    to.truncated += from.truncated;
    to.unsolicited += from.unsolicited;
    to.mismatched += from.mismatched;
    to.matched_without_question += from.matched_without_question;
    to.retried += from.retried;
    to.unreachable += from.unreachable;
}

} // namespace

void DnsCounters::add(const mxs_dns_stats& k) {
    add_shared(*this, k);
    latency.sum_ns += k.latency_sum_ns; // the buckets come from the histogram map
}

void DnsCounters::add(const mxs_dns_hist& k) {
    for (std::size_t i = 0; i < latency.counts.size(); ++i)
        latency.counts[i] += k.hist[i];
}

void DnsCounters::add(const DnsCounters& o) {
    add_shared(*this, o);
    unanswered += o.unanswered; // the sweep's count: not in the kernel's value
    latency.add(o.latency);
}

const char* rcode_name(std::uint32_t slot) {
    static constexpr const char* names[MXS_RCODE_MAX] = {
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "OTHER"};
    return slot < MXS_RCODE_MAX ? names[slot] : "OTHER";
}

} // namespace mxs
