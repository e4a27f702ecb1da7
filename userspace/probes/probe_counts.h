// What the probes did, for the views (mxsense_probe_*, mxsense_discovery_*).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>

namespace mxs {

// What the probes did: runs by (kind, target, result), the last run's duration (seconds) by
// (kind, target), rounds a target was skipped because passive traffic already judged it, and
// discovery's lookups of each domain by result (Discovery counts them here: discovery.h).
struct ProbeCounts {
    std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> runs;
    std::map<std::pair<std::string, std::string>, double> last_seconds;
    std::map<std::pair<std::string, std::string>, std::uint64_t> skipped;
    // (domain, result) -> discovery rounds
    std::map<std::pair<std::string, std::string>, std::uint64_t> discovery_lookups;
};

} // namespace mxs
