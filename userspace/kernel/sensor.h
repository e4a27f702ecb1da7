// Owner of the loaded BPF skeleton and reader of its maps.
#pragma once

#include "base/result.h"
#include "counters/dns_model.h"
#include "counters/smtp_model.h"
#include "kernel/kernel_types.h"
#include "kernel/mapped_map.h"
#include "kernel/sensor_config.h"
#include "kernel/sensor_snapshot.h"

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct mxsense_bpf;

namespace mxs {

struct SmtpSweepResult {
    std::map<mxs_server_key, std::uint64_t, ServerKeyLess> timeouts; // unanswered SYNs, per server
    std::uint64_t evicted = 0;   // flows idle past the idle timeout
    std::uint64_t remaining = 0; // flows still tracked
};

// A flow the SMTP sweep's walk found old: past the connect timeout unanswered, or idle.
struct SmtpSweepCandidate {
    mxs_smtp_flow_key key;
    mxs_smtp_flow flow; // as the walk read it
    bool idle;          // idle past the idle timeout (else: unanswered past the connect timeout)
};

struct SmtpSweepCandidates {
    std::vector<SmtpSweepCandidate> flows;
    std::uint64_t remaining = 0; // flows the walk left alone
};

struct SweepResult {
    // Per server; a query whose server had no statistics slot is in expired_total only.
    std::map<mxs_server_key, std::uint64_t, ServerKeyLess> expired;
    std::uint64_t expired_total = 0;
    std::uint64_t remaining = 0;        // entries still in flight, both roles
    std::uint64_t remaining_client = 0; // of which this host's own queries
    std::uint64_t remaining_server = 0; // of which queries to this host
};

class Sensor {
  public:
    // Opens, configures (before load, through read-only globals) and loads.
    static Result<std::unique_ptr<Sensor>> load(const SensorConfig& cfg);
    ~Sensor();
    Sensor(const Sensor&) = delete;
    Sensor& operator=(const Sensor&) = delete;

    int xdp_prog_fd() const;
    int tc_prog_fd() const;

    std::map<mxs_server_key, DnsCounters, ServerKeyLess> read_dns_stats() const;
    std::array<std::uint64_t, MXS_C_MAX> read_counters() const;
    mxs_if_stats read_ifstats(std::uint32_t ifindex) const;
    // Releases queries older than timeout_ns (ns) from both roles' in-flight tables, read
    // through their mmap (no syscall per query); a query counts as expired only if this
    // release (a compare-and-swap of its tag) won the race against the datapath's.
    SweepResult sweep(std::uint64_t now_ns, std::uint64_t timeout_ns) const;
    std::map<mxs_server_key, SmtpCounters, ServerKeyLess> read_smtp_stats() const;
    // Removes connections whose SYN went unanswered for connect_ns (timeouts)
    // and connections idle for idle_ns (evictions).
    // Equals smtp_sweep_claim(smtp_sweep_candidates(...)).
    SmtpSweepResult sweep_smtp(std::uint64_t now_ns, std::uint64_t connect_ns,
                               std::uint64_t idle_ns) const;
    // The sweep's two halves, apart so that tests can put packets between them: the walk
    // (reads only), then the claim of each candidate, which ends it only if the datapath has
    // not answered it since.
    SmtpSweepCandidates smtp_sweep_candidates(std::uint64_t now_ns, std::uint64_t connect_ns,
                                              std::uint64_t idle_ns) const;
    SmtpSweepResult smtp_sweep_claim(const SmtpSweepCandidates& c) const;
    std::uint32_t smtp_flow_capacity() const;
    // Maximum SMTP servers (entries of the per-server SMTP statistics map).
    std::uint32_t smtp_stats_capacity() const;
    // Empties every map, as if freshly loaded (tests and benchmarks reuse one load).
    void clear_maps() const;
    std::uint32_t stats_capacity() const;
    std::uint32_t inflight_capacity() const;        // client role
    std::uint32_t inflight_server_capacity() const; // server role
    // Entries and capacity of the maps no sweep walks, by the `map` label of
    // mxsense_sensor_map_entries: dns_late and dns_late_server (queries the sweep expired,
    // remembered for their late answers, per role), tcp_streams (DNS-over-TCP streams whose
    // next message start is known) and tcp_streams_held (held message starts). Counted by a
    // walk of each map's keys, a few syscalls per thousand entries.
    std::map<std::string, MapUsage> map_usage() const;
    // Kernel memory charged to each map (bytes, the kernel's `memlock` in fdinfo), by map name.
    std::map<std::string, std::uint64_t> map_memory() const;

  private:
    Sensor(mxsense_bpf* skel, MappedMap flight, MappedMap flight_srv, MappedMap spill,
           MappedMap spill_srv, MappedMap hist);
    mxsense_bpf* skel_;
    int ncpus_;
    MappedMap flight_;     // mxs_dns_flight: this host's queries (struct mxs_dns_bucket)
    MappedMap flight_srv_; // mxs_dns_flight_srv: queries to this host
    MappedMap spill_;      // mxs_dns_spill: per bucket of flight_, queries in their second
    MappedMap spill_srv_;  // mxs_dns_spill_srv: the same for flight_srv_
    MappedMap hist_;       // mxs_dns_hist: latency histograms by server slot
};

// CLOCK_MONOTONIC in ns: the clock of bpf_ktime_get_ns().
std::uint64_t monotonic_ns();

} // namespace mxs
