#include "health/evidence.h"

#include <algorithm>

namespace mxs {
namespace {

constexpr const char* kServfailCause = "queries answered SERVFAIL";

std::uint64_t d(std::uint64_t before, std::uint64_t after) {
    return after >= before ? after - before : 0; // a reset map: no negative evidence
}

void cause(WindowEvidence& e, const std::string& what, std::uint64_t n) {
    if (n)
        e.causes[what] += n;
}

void with_latency(WindowEvidence& e, const FineHistogram& before, const FineHistogram& after) {
    e.latency = sparse(histogram_delta(before, after));
    for (const auto& [b, c] : e.latency)
        e.samples += c;
    e.p99_s = sparse_p99(e.latency);
}

} // namespace

FineHistogram histogram_delta(const FineHistogram& before, const FineHistogram& after) {
    FineHistogram out;
    for (std::size_t i = 0; i < out.counts.size(); ++i)
        out.counts[i] = d(before.counts[i], after.counts[i]);
    out.sum_ns = d(before.sum_ns, after.sum_ns);
    return out;
}

SparseLatency sparse(const FineHistogram& h) {
    SparseLatency out;
    for (std::uint32_t b = 0; b < h.counts.size(); ++b)
        if (h.counts[b])
            out.emplace_back(b, h.counts[b]);
    return out;
}

WindowEvidence dns_evidence(const DnsCounters& before, const DnsCounters& after) {
    WindowEvidence e;
    e.noun = "queries";
    // Queries whose outcome this window saw (an answer, or the sweep's timeout): a query still
    // in flight is judged in the window its outcome lands in, never as a success before it.
    for (std::size_t r = 0; r < MXS_RCODE_MAX; ++r)
        e.attempts += d(before.responses[r], after.responses[r]);
    e.attempts += d(before.unanswered, after.unanswered);
    // An ICMP unreachable answering a query ends it: a failure like a timeout (issue 11 item 3).
    const auto unreachable = d(before.unreachable, after.unreachable);
    e.attempts += unreachable;
    const auto servfail =
        d(before.responses[MXS_RCODE_SERVFAIL], after.responses[MXS_RCODE_SERVFAIL]);
    const auto refused = d(before.responses[MXS_RCODE_REFUSED], after.responses[MXS_RCODE_REFUSED]);
    e.errors = servfail + refused;
    e.timeouts = d(before.unanswered, after.unanswered) + unreachable;
    cause(e, kServfailCause, servfail);
    cause(e, "queries answered REFUSED", refused);
    cause(e, "queries unanswered (timeouts)", e.timeouts - unreachable);
    cause(e, "queries answered by ICMP unreachable", unreachable);
    e.retransmitted = std::min(e.attempts, d(before.retried, after.retried));
    with_latency(e, before.latency, after.latency);
    return e;
}

WindowEvidence smtp_evidence(const SmtpCounters& before, const SmtpCounters& after) {
    WindowEvidence e;
    e.noun = "connections";
    for (std::size_t o = 0; o < MXS_SMTP_OUTCOME_MAX; ++o)
        e.attempts += d(before.outcomes[o], after.outcomes[o]);
    const auto refused = d(before.outcomes[MXS_SMTP_REFUSED], after.outcomes[MXS_SMTP_REFUSED]);
    e.errors = refused;
    cause(e, "connections refused", refused);
    for (std::uint32_t k = 0; k < MXS_SMTP_CODE_MAX; ++k) {
        const std::string code = smtp_code_name(k);
        if (code[0] == '4' || code[0] == '5') { // 421, 450…554, 4xx, 5xx
            const auto n = d(before.greetings[k], after.greetings[k]);
            e.errors += n;
            cause(e, "greetings " + code, n);
        }
    }
    const auto timeout = d(before.outcomes[MXS_SMTP_TIMEOUT], after.outcomes[MXS_SMTP_TIMEOUT]);
    const auto unreachable =
        d(before.outcomes[MXS_SMTP_UNREACHABLE], after.outcomes[MXS_SMTP_UNREACHABLE]);
    e.timeouts = timeout + unreachable;
    cause(e, "connections timed out", timeout);
    cause(e, "connections unreachable", unreachable);
    e.retransmitted =
        std::min(e.attempts, d(before.connect_retransmitted, after.connect_retransmitted));
    with_latency(e, before.connect, after.connect);
    return e;
}

WindowEvidence dns_probe_evidence(const std::string& result, bool sent, bool tcp) {
    WindowEvidence e;
    e.noun = "queries";
    if (result == "ok")
        return e;
    if (!sent) { // never a DNS message: only the probe knows of this attempt
        e.attempts = 1;
        const std::string what = tcp ? "connections" : "queries";
        if (result == "timeout") {
            e.timeouts = 1;
            cause(e, what + " timed out", 1);
        } else if (result == "unreachable") {
            e.timeouts = 1;
            cause(e, what + " unreachable", 1);
        } else if (result == "refused") {
            e.errors = 1;
            cause(e, what + " refused", 1);
        } else {
            e.errors = 1;
            cause(e, what + " failed before sending (" + result + ")", 1);
        }
        return e;
    }
    // Sent: the kernel counted the query and judges SERVFAIL, REFUSED and unanswered itself.
    if (result == "not_authoritative") {
        e.errors = 1;
        cause(e, "answers not authoritative (AA=0)", 1);
    } else if (result == "rcode_nxdomain") {
        e.errors = 1;
        cause(e, "answers NXDOMAIN for the server's own zone", 1);
    } else if (result == "rcode_other") {
        e.errors = 1;
        cause(e, "answers with an unexpected rcode", 1);
    }
    return e;
}

std::uint64_t excuse_servfail(WindowEvidence& e, std::uint64_t n) {
    const auto it = e.causes.find(kServfailCause);
    if (it == e.causes.end())
        return 0;
    const auto k = std::min({n, it->second, e.errors, e.attempts});
    it->second -= k;
    if (it->second == 0)
        e.causes.erase(it);
    e.errors -= k;
    e.attempts -= k;
    e.retransmitted = std::min(e.retransmitted, e.attempts);
    return k;
}

WindowEvidence smtp_probe_evidence(const std::string& result, const std::string& step) {
    WindowEvidence e;
    e.noun = "connections";
    if (result == "ok" || step == "connect" || (step == "greeting" && result == "rejected"))
        return e; // the kernel saw the handshake's outcome and the greeting's code
    if (result == "rejected") {
        e.errors = 1;
        cause(e, "probes rejected at " + step, 1);
    } else if (result == "tls_failed") {
        e.errors = 1;
        cause(e, "probes failed STARTTLS/TLS", 1);
    } else if (result == "timeout") {
        e.timeouts = 1;
        cause(e, "probes timed out at " + step, 1);
    }
    return e;
}

WindowEvidence combine(const std::vector<WindowEvidence>& parts) {
    WindowEvidence e;
    for (const auto& p : parts)
        e.merge(p);
    return e;
}

} // namespace mxs
