// Active probes (config `probes:`): every judged address that had no passive traffic in the
// last window is asked, once per round, what its role says — a DNS server over UDP and over
// TCP (probe_plan.h), an MX address with an SMTP dialogue (smtp_probe.h). The kernel sensor
// measures them like any traffic; what only a probe can see (a TCP connect refused before any
// DNS message, an answer that is not authoritative, a failed STARTTLS) is added to the
// window's evidence, and each probe's own outcome feeds mxsense_probe_*.
#pragma once

#include "config/options.h"
#include "health/health.h"
#include "probes/probe_counts.h"
#include "probes/probe_plan.h"

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>

namespace mxs {

// Where a round sends its probes: the ports of the watched services and the interface the
// probes are pinned to (SO_BINDTODEVICE; "" leaves it to routing).
struct ProbeRoute {
    std::uint16_t dns_port = 53;
    std::uint16_t smtp_port = 25;
    std::string device;
};

class Prober {
  public:
    explicit Prober(boost::asio::io_context& io) : io_(io) {}
    Prober(const Prober&) = delete;
    Prober& operator=(const Prober&) = delete;

    // What each DNS server is asked, by address (dns_roles()); a target without a role
    // is not probed.
    void set_roles(std::map<std::string, DnsRole> roles) { roles_ = std::move(roles); }
    // A new configuration: each question's last outcome is forgotten.
    void forget_questions() { question_failed_.clear(); }

    // One round, on the io_context's thread: probes every address of `targets` that is
    // neither in `unobservable` (a pinned probe cannot reach it, the sensor would not see it)
    // nor had passive traffic in the last window. The probes run as coroutines; their
    // results arrive by the next window (fold_into).
    void round(const ProbeOptions& p, const std::vector<TargetStatus>& targets,
               const std::map<std::string, std::string>& unobservable, const ProbeRoute& route);

    // At the end of a window: adds what only the probes saw to w, takes back the SERVFAILs
    // that a domain, not the resolver, caused (excuse_servfail), and notes which addresses
    // had passive traffic (more attempts in w than the probes made this window and the last:
    // a probe's answer may land in the window after it was sent).
    void fold_into(HealthMonitor::Window& w);

    ProbeCounts& counts() { return counts_; }
    const ProbeCounts& counts() const { return counts_; }

  private:
    void probe_dns(const ProbeOptions& p, const std::string& addr, const DnsQuestion& q,
                   const std::vector<DnsQuestion>& questions, const ProbeRoute& route);
    void probe_smtp(const ProbeOptions& p, const std::string& addr, const ProbeRoute& route);
    void record(const std::string& kind, const std::string& target, const std::string& result,
                double seconds);

    boost::asio::io_context& io_;
    ProbeCounts counts_;
    std::map<std::string, DnsRole> roles_;
    std::uint64_t rounds_ = 0;
    // Probe attempts per (kind, address) this window and the last; addresses whose last
    // window saw more attempts than that have passive traffic.
    std::map<std::pair<std::string, std::string>, std::uint64_t> probed_now_, probed_before_;
    std::set<std::pair<std::string, std::string>> passive_;
    // What only the probes saw since the last window, by (kind, address, transport).
    std::map<std::tuple<std::string, std::string, std::string>, WindowEvidence> evidence_;
    // Resolver probes' SERVFAILs taken back since the last window, by (address, transport),
    // and each question's latest outcome by (address, transport, question): true when it
    // failed.
    std::map<std::pair<std::string, std::string>, std::uint64_t> servfail_excused_;
    std::map<std::tuple<std::string, std::string, std::string>, bool> question_failed_;
};

} // namespace mxs
