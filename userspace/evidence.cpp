#include "evidence.h"

#include <algorithm>
#include <cmath>

namespace mxs {
namespace {

std::uint64_t d(std::uint64_t before, std::uint64_t after) {
    return after >= before ? after - before : 0; // a reset map: no negative evidence
}

double p99(const FineHistogram& h) {
    const double q = quantile_seconds(h, 0.99);
    return std::isnan(q) ? 0 : q;
}

} // namespace

FineHistogram histogram_delta(const FineHistogram& before, const FineHistogram& after) {
    FineHistogram out;
    for (std::size_t i = 0; i < out.counts.size(); ++i)
        out.counts[i] = d(before.counts[i], after.counts[i]);
    out.sum_ns = d(before.sum_ns, after.sum_ns);
    return out;
}

WindowEvidence dns_evidence(const DnsCounters& before, const DnsCounters& after) {
    WindowEvidence e;
    e.attempts = d(before.queries, after.queries);
    e.errors = d(before.responses[MXS_RCODE_SERVFAIL], after.responses[MXS_RCODE_SERVFAIL]) +
               d(before.responses[MXS_RCODE_REFUSED], after.responses[MXS_RCODE_REFUSED]);
    // An ICMP unreachable answering a query is a failure like a timeout (issue 11 item 3).
    e.timeouts = d(before.unanswered, after.unanswered) + d(before.unreachable, after.unreachable);
    e.p99_s = p99(histogram_delta(before.latency, after.latency));
    return e;
}

WindowEvidence smtp_evidence(const SmtpCounters& before, const SmtpCounters& after) {
    WindowEvidence e;
    for (std::size_t o = 0; o < MXS_SMTP_OUTCOME_MAX; ++o)
        e.attempts += d(before.outcomes[o], after.outcomes[o]);
    e.errors = d(before.outcomes[MXS_SMTP_REFUSED], after.outcomes[MXS_SMTP_REFUSED]);
    for (std::uint32_t k = 0; k < MXS_SMTP_CODE_MAX; ++k) {
        const std::string code = smtp_code_name(k);
        if (code[0] == '4' || code[0] == '5') // 421, 450…554, 4xx, 5xx
            e.errors += d(before.greetings[k], after.greetings[k]);
    }
    e.timeouts = d(before.outcomes[MXS_SMTP_TIMEOUT], after.outcomes[MXS_SMTP_TIMEOUT]) +
                 d(before.outcomes[MXS_SMTP_UNREACHABLE], after.outcomes[MXS_SMTP_UNREACHABLE]);
    e.p99_s = p99(histogram_delta(before.connect, after.connect));
    return e;
}

WindowEvidence combine(const std::vector<WindowEvidence>& parts) {
    WindowEvidence e;
    for (const auto& p : parts) {
        e.attempts += p.attempts;
        e.errors += p.errors;
        e.timeouts += p.timeouts;
        e.p99_s = std::max(e.p99_s, p.p99_s); // the slowest address speaks for the host
    }
    return e;
}

} // namespace mxs
