// Per-server SMTP counters in user space: kernel totals summed over CPUs, the
// agent's own timeout counts, and bounded `server` labels.
#pragma once

#include "counters/dns_model.h"
#include "counters/histogram.h"
#include "kernel/kernel_types.h"

#include <array>
#include <cstdint>
#include <map>
#include <string>

namespace mxs {

struct SmtpCounters {
    std::array<std::uint64_t, MXS_SMTP_OUTCOME_MAX> outcomes{};
    std::uint64_t closed_before_greeting = 0;
    // Established after the SYN was sent again: network loss, kept out of `connect`.
    std::uint64_t connect_retransmitted = 0;
    std::array<std::uint64_t, MXS_STARTTLS_MAX> starttls{};
    std::array<std::uint64_t, MXS_SMTP_CODE_MAX> greetings{};
    std::array<std::uint64_t, MXS_SMTP_CODE_MAX> replies{};
    FineHistogram connect;
    FineHistogram greeting;

    // Kernel values: the per-CPU counters of one CPU, or the shared histograms.
    void add(const mxs_smtp_stats& k);
    void add(const mxs_smtp_hist& k);
    void add(const SmtpCounters& o);
};

struct SmtpSeriesKey {
    std::string server;
    std::string role;
    auto operator<=>(const SmtpSeriesKey&) const = default;
};

const char* smtp_code_name(std::uint32_t slot);
const char* smtp_outcome_name(std::uint32_t outcome);
const char* starttls_result_name(std::uint32_t result);

class SmtpAggregator {
  public:
    explicit SmtpAggregator(std::size_t max_labelled) : labeler_(max_labelled) {}

    void set_kernel_totals(std::map<mxs_server_key, SmtpCounters, ServerKeyLess> totals);
    void add_timeouts(const mxs_server_key& key, std::uint64_t n);
    std::map<SmtpSeriesKey, SmtpCounters> series() const;
    // Totals per server address for this host as a client, on server port `port` only: the
    // verdict evidence of an MX host comes from the port senders deliver to (the MX port, 25 by
    // default). Connections to its other ports (465, 587: submission) are counted in series()
    // but are never evidence: a refused submission port is no reason to fail over the MX, and
    // any local process could connect there.
    std::map<std::string, SmtpCounters> client_by_address(std::uint16_t port) const;
    void reserve_labels(const std::vector<std::string>& addrs) { labeler_.offer(addrs); }

  private:
    ServerLabeler labeler_;
    std::map<mxs_server_key, SmtpCounters, ServerKeyLess> kernel_;
    std::map<mxs_server_key, std::uint64_t, ServerKeyLess> timeouts_;
};

} // namespace mxs
