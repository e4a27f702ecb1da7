// What the sensor is loaded with: the ports it tracks and the size of each map. The agent's
// options extend this struct (config/options.h), so each default is written here only.
#pragma once

#include <cstdint>
#include <vector>

namespace mxs {

/// Ports and map capacities (entries) for Sensor::load.
struct SensorConfig {
    std::vector<std::uint16_t> dns_ports = {53};
    std::uint32_t stats_map_entries = 1024;            // DNS servers with statistics
    std::uint32_t inflight_map_entries = 65536;        // client role: this host's queries
    std::uint32_t inflight_server_map_entries = 65536; // server role: queries to this host
    // Queries the sweep expired, remembered (LRU, this many per role) so their late answers
    // are late.
    std::uint32_t late_map_entries = 4096;
    std::uint32_t tcp_stream_map_entries = 4096;
    std::vector<std::uint16_t> smtp_ports = {25, 465, 587};
    std::vector<std::uint16_t> smtp_tls_ports = {465}; // implicit TLS (RFC 8314)
    std::uint32_t smtp_stats_map_entries = 1024;       // SMTP servers with statistics
    std::uint32_t smtp_flow_map_entries = 65536;       // SMTP connections tracked
};

} // namespace mxs
