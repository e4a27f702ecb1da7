// process_* metrics of the agent itself, as the Prometheus client libraries export them
// (client_golang's process collector, client_python's ProcessCollector): prometheus-cpp has
// none. Read from /proc (proc(5)) and getrlimit(2) when a scrape asks.
#pragma once

#include "base/result.h"

#include <optional>
#include <string_view>

namespace mxs {

/// The agent process as the kernel shows it. Seconds and bytes, as the metrics carry them.
struct ProcessStats {
    double cpu_seconds = 0;    // user + system CPU time (stat fields 14 and 15)
    double start_time_s = 0;   // Unix time: boot time (/proc/stat btime) + starttime (field 22)
    double virtual_bytes = 0;  // virtual memory size (field 23, vsize)
    double resident_bytes = 0; // resident set (field 24, rss pages × page size)
    // Descriptors open (entries of /proc/self/fd, the one reading them left out); nullopt
    // when the directory cannot be read.
    std::optional<double> open_fds;
    // Soft limits (RLIMIT_NOFILE, RLIMIT_AS); "unlimited" is 2^64 - 1, as client_golang shows
    // it.
    double max_fds = 0;
    double max_virtual_bytes = 0;
};

/// The fields of a /proc/PID/stat line that ProcessStats takes, in its units but without the
/// boot time (start_time_s is seconds since boot) and without fds and limits. The command name
/// (field 2) may hold spaces and parentheses: the fields after it are counted from its last
/// ')'. Error: a line with fewer fields, or a field that is no number.
Result<ProcessStats> parse_proc_stat(std::string_view line, double clock_ticks_per_s,
                                     double page_bytes);

/// This process's stats from /proc/self/stat, /proc/stat, /proc/self/fd and getrlimit(2).
/// Error: /proc not mounted or unreadable, a line that does not parse (what and where).
Result<ProcessStats> read_process_stats();

} // namespace mxs
