// What an audit judges by, set from the command line (`mxsense audit`) and from the agent's
// configuration (audit.*): each default once, here (a plain header: config/ includes it).
#pragma once

#include <cstdint>
#include <string>

namespace mxs {

/// The audit's judgement settings.
struct AuditPolicy {
    // mx_ttl's band, seconds (about an hour is the usual advice).
    std::uint32_t mx_ttl_min_s = 300;
    std::uint32_t mx_ttl_max_s = 86400;
    // Seconds the name servers' SOA serials may differ (a change propagating) before
    // soa_serial_consistent is CRITICAL.
    double serial_grace_s = 10;
    // CA certificates (PEM) for the MX hosts' and the MTA-STS policy's certificates; empty:
    // the system's trust store.
    std::string ca_file;
};

} // namespace mxs
