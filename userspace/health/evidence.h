// A window's evidence for a target, from the difference of two counter
// snapshots, plus what only the probes can see.
#pragma once

#include "counters/dns_model.h"
#include "counters/smtp_model.h"
#include "health/verdict.h"

#include <map>
#include <string>
#include <vector>

namespace mxs {

// after - before, bucket by bucket (counters only grow).
FineHistogram histogram_delta(const FineHistogram& before, const FineHistogram& after);

// The non-empty buckets of a histogram.
SparseLatency sparse(const FineHistogram& h);

// One transport of a DNS server (its UDP or its TCP counters): attempts are the
// queries whose outcome the window saw (answers and unanswered; one still in
// flight counts where its outcome lands), errors SERVFAIL and REFUSED answers,
// timeouts unanswered queries;
// answers to retransmitted queries (`retried`) are loss; latency the answers'.
WindowEvidence dns_evidence(const DnsCounters& before, const DnsCounters& after);

// SMTP host: attempts are connection attempts, errors refusals and 4xx/5xx
// greetings, timeouts SYN timeouts and unreachables; handshakes whose SYN was
// retransmitted are loss; the latency is the connect latency.
WindowEvidence smtp_evidence(const SmtpCounters& before, const SmtpCounters& after);

// What a DNS probe adds to the kernel's evidence of its transport: a TCP
// connect refused or timed out never reaches the DNS counters (an attempt and
// its failure); an answer the kernel books as fine but the target's role does
// not accept (not authoritative, NXDOMAIN for its own zone, an odd rcode) is a
// failure. Nothing for results the kernel already counted (rcodes it judges,
// unanswered queries). `result` is the probe's result label.
WindowEvidence dns_probe_evidence(const std::string& result, bool sent, bool tcp);

// Takes back up to n SERVFAIL answers the kernel booked in a DNS transport's
// evidence e (the attempt, the error and its cause; the latency sample stays):
// resolver probes answered SERVFAIL for a domain while the resolver answered
// `. NS` in the same round - the domain's fault, not the resolver's. Returns how
// many it took back (fewer when e holds fewer SERVFAILs: those were judged in an
// earlier window).
std::uint64_t excuse_servfail(WindowEvidence& e, std::uint64_t n);

// What an SMTP probe adds: failures after the handshake that the kernel does not
// judge (EHLO rejected, STARTTLS/TLS failed, no reply before the timeout).
// `step` is the dialogue step that failed (connect, greeting, EHLO, STARTTLS, …).
WindowEvidence smtp_probe_evidence(const std::string& result, const std::string& step);

// An MX host's evidence over all its addresses (missing addresses count as silent).
WindowEvidence combine(const std::vector<WindowEvidence>& parts);

} // namespace mxs
