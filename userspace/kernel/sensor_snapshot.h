// What the sensor's maps hold at one read: the kernel's counters, the interfaces and how the
// programs are attached, and each map's entries against its capacity (Sensor fills it).
#pragma once

#include "kernel/kernel_types.h"

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mxs {

struct InterfaceCounters {
    std::string name;
    std::array<std::uint64_t, MXS_DIR_MAX> packets{};
};

struct Attachment {
    std::string interface;
    std::string hook; // xdp | tc
    std::string mode; // native | generic | tcx | netlink
};

// Entries in one sensor map and its capacity (max_entries).
struct MapUsage {
    std::uint64_t entries = 0;
    std::uint64_t capacity = 0;
};

struct SensorSnapshot {
    std::array<std::uint64_t, MXS_C_MAX> counters{};
    std::vector<InterfaceCounters> interfaces;
    std::vector<Attachment> attachments;
    std::uint64_t inflight_entries = 0; // client role (this host's queries)
    std::uint64_t inflight_capacity = 0;
    std::uint64_t inflight_server_entries = 0; // server role (queries to this host)
    std::uint64_t inflight_server_capacity = 0;
    std::uint64_t stats_entries = 0;
    std::uint64_t stats_capacity = 0;
    std::uint64_t expired_total = 0; // in-flight queries the sweeper removed
    std::uint64_t sweeps_total = 0;
    double sweep_seconds_total = 0;     // wall time of the sweeps (DNS and SMTP), seconds
    double dns_sweep_seconds_total = 0; // of which the DNS in-flight tables', seconds
    std::uint64_t smtp_flow_entries = 0;
    std::uint64_t smtp_flow_capacity = 0;
    std::uint64_t smtp_stats_entries = 0; // SMTP servers with statistics in the kernel
    std::uint64_t smtp_stats_capacity = 0;
    std::uint64_t smtp_evicted_total = 0; // idle connections the sweeper removed
    // Maps no sweep walks, counted when a scrape asks, by their `map` label (Sensor::map_usage).
    std::map<std::string, MapUsage> counted_maps;
};

} // namespace mxs
