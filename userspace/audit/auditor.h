// A domain's audit: what the failover checklist asks, checked against the DNS and the MX hosts
// (README "Audit"). The facts are gathered here; the rules are checks.h.
#pragma once

#include "audit/audit_policy.h"
#include "audit/report.h"
#include "probes/coro.h"

#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mxs {

/// Every check name, in the order an audit reports them.
const std::vector<std::string>& audit_check_names();

/// How an audit asks, and what it judges by (AuditPolicy).
struct AuditOptions : AuditPolicy {
    std::string resolver;              // the recursive resolver (an IP address)
    double timeout_s = 5;              // per query or connection
    std::set<std::string> checks;      // empty: all of audit_check_names()
    std::uint16_t smtp_port = 25;      // where mx_resolves connects
    std::set<std::string> failed_over; // domains failed over now (mx_ttl notes a short TTL)
    std::set<std::string> null_mx;     // domains declared to take no mail (RFC 7505 null MX)
    // How long one run asks again while serials differ (negative: up to the grace). The agent
    // waits less and remembers across runs (serials_differ_since) instead.
    double serial_wait_s = -1;
    // Domain -> since when (Unix seconds) an earlier run saw its serials differ.
    std::map<std::string, double> serials_differ_since;
    // MX host -> what the sensor saw of it accepting connections (the agent: HEALTHY, every
    // connection of the last window accepted). mx_resolves takes that over a connect of its own.
    std::map<std::string, std::string> mx_seen_accepting;
    // When the whole audit must end (`mxsense audit --deadline`): every question, connection
    // and session is cut to what is left, and what is not asked by then is UNKNOWN ("deadline").
    std::optional<std::chrono::steady_clock::time_point> deadline;
    std::string ehlo_name = "localhost"; // what the SMTP sessions say in EHLO
    // Where blocking work runs (the MTA-STS policy's HTTPS GET, libcurl's easy interface):
    // nullptr, on the calling thread (the command line); the agent gives a pool so its one
    // thread never waits on a web server.
    boost::asio::thread_pool* blocking = nullptr;
};

/// Audits `domain` (a DNS name): the findings of the selected checks, in order. Never throws.
boost::asio::awaitable<AuditReport> audit_domain(std::string domain, AuditOptions opts);

} // namespace mxs
