// A window's evidence for a target, from the difference of two counter
// snapshots (issue 4; not yet driven by the agent's window timer).
#pragma once

#include "dns_model.h"
#include "smtp_model.h"
#include "verdict.h"

#include <map>
#include <string>
#include <vector>

namespace mxs {

// after - before, bucket by bucket (counters only grow).
FineHistogram histogram_delta(const FineHistogram& before, const FineHistogram& after);

// DNS server: attempts are queries, errors SERVFAIL and REFUSED, timeouts unanswered;
// the latency is the answers' p99.
WindowEvidence dns_evidence(const DnsCounters& before, const DnsCounters& after);

// SMTP host: attempts are connection attempts, errors refusals and 4xx/5xx
// greetings, timeouts SYN timeouts and unreachables; the latency is connect p99.
WindowEvidence smtp_evidence(const SmtpCounters& before, const SmtpCounters& after);

// An MX host's evidence over all its addresses (missing addresses count as silent).
WindowEvidence combine(const std::vector<WindowEvidence>& parts);

} // namespace mxs
