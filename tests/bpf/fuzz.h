// Fuzzing the sensor programs through BPF_PROG_TEST_RUN: random and mutated frames of every
// shape the parsers meet (DNS over UDP and TCP, TCP length games, name compression, IPv6
// extension chains, VLAN stacks, fragments, SMTP, ICMP errors, truncations, random bytes) run
// through both programs, with invariants checked per frame (verdict, frame unchanged) and per
// round from the maps (accounting). Shared by the suite test (tests/bpf/fuzz_test.cpp) and the
// benchmark (bench/bpf_fuzz.cpp).
#pragma once

#include "kernel/sensor.h"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mxs::fuzz {

// Scenario families: what a generated sequence of frames is about.
enum Family : std::uint8_t {
    kDnsUdp = 0, // query, retransmission, answers (rcodes, EDNS, TC, mismatched), ICMP
    kDnsTcp,     // DNS over TCP: length prefix split/oversized/zero, order, loss, duplicates
    kDnsNames,   // qnames: compression pointers (self, forward, loops), long, bad labels
    kIp6Ext,     // IPv6 extension chains (hop-by-hop, routing, fragment, dst opts, AH), long
    kVlan,       // 0..4 VLAN tags, 802.1Q and 802.1ad
    kFragments,  // IPv4 and IPv6 fragments, first and non-first
    kSmtp,       // SMTP sessions: handshakes, replies split/multiline/pipelined, garbage
    kIcmp,       // ICMP/ICMPv6 unreachables quoting DNS queries, SMTP SYNs and garbage
    kTruncated,  // one frame at every length from 14 bytes to its end
    kRandom,     // random bytes, alone or behind valid headers
    kFamilies,
};

const char* family_name(std::uint8_t f);
// Short name of an enum mxs_counter value.
const char* counter_name(std::size_t c);

// The maps of a loaded sensor by name (found through the programs' map ids), for reading
// them raw and for the tests that plant faults.
class MapFds {
  public:
    MapFds(int xdp_prog_fd, int tc_prog_fd);
    ~MapFds();
    MapFds(const MapFds&) = delete;
    MapFds& operator=(const MapFds&) = delete;
    // The map's fd; names as the kernel keeps them (at most 15 characters). -1 when absent.
    int fd(const std::string& name) const;
    std::uint32_t max_entries(const std::string& name) const;

  private:
    struct Info {
        int fd;
        std::uint32_t max_entries;
    };
    std::map<std::string, Info> maps_;
};

// The statistics slot of DNS server k (mxs_dns_servers), or nullopt if it has none.
std::optional<__u32> dns_slot(const MapFds& m, const mxs_server_key& k);

// Visits every query in flight in one role's table (fd of mxs_dns_flight or
// mxs_dns_flight_srv, `buckets` its max_entries): its published tag and its slot.
void for_each_inflight(int fd, std::uint32_t buckets,
                       const std::function<void(std::uint64_t tag, const mxs_dns_slot&)>& visit);

struct Options {
    std::uint64_t seed = 0;
    std::uint64_t frames = 1'000'000;
    std::uint32_t round_frames = 16384; // maps checked and emptied after each round
    std::int64_t only_round = -1;       // replay one round of the seed (-1: all)
    std::size_t max_violations = 20;    // stop after this many
    // Called after each round's frames, before its checks (tests plant faults here).
    std::function<void(std::uint64_t round, const MapFds&)> before_checks;
};

struct Report {
    std::uint64_t seed = 0;
    std::uint64_t frames = 0, xdp_frames = 0, tc_frames = 0, mutated = 0, rounds = 0;
    std::uint64_t sweeps = 0;
    std::uint64_t tc_rerouted = 0; // egress frames too short for an skb, run through XDP
    std::array<std::uint64_t, kFamilies> by_family{};
    std::array<std::uint64_t, MXS_C_MAX> counters{}; // sensor counters summed over rounds
    // What the kernel accounted, summed over rounds (shows which paths the frames reached).
    std::uint64_t dns_queries = 0, dns_responses = 0, dns_unreachable = 0, dns_expired = 0;
    std::uint64_t dns_mismatched = 0, dns_unsolicited = 0, dns_retried = 0, dns_noq = 0;
    std::uint64_t dns_rcode_other = 0;
    std::uint64_t smtp_established = 0, smtp_refused = 0, smtp_unreachable = 0;
    std::uint64_t smtp_timeouts = 0, smtp_greetings = 0, smtp_replies = 0, smtp_starttls = 0;
    std::uint64_t smtp_tls_greetings = 0, smtp_closed_before_greeting = 0;
    std::uint32_t xdp_max_frame = 0, tc_max_frame = 0; // largest frames the kernel takes
    double seconds = 0;                                // wall time of the whole run
    double run_seconds = 0;                            // of which in BPF_PROG_TEST_RUN calls
    std::vector<std::string> violations;

    bool ok() const { return violations.empty(); }
    std::string summary() const;
};

// Runs opts.frames frames (in rounds of opts.round_frames) through both programs of s, which
// must be loaded with the default SensorConfig (ports 53; 25, 465, 587; TLS on 465). Empties
// the maps before each round.
Report run(const Sensor& s, const Options& opts);

// The seed from MXS_FUZZ_SEED if set, else a fresh one.
std::uint64_t seed_from_env();

} // namespace mxs::fuzz
