// Per-server SMTP counters: what the kernel counts per server (struct mxs_smtp_stats and its
// histograms) with the agent's timeouts, and their aggregation (aggregator.h).
#pragma once

#include "counters/aggregator.h"
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

struct SmtpTraits {
    using Counters = SmtpCounters;
    using SeriesKey = SmtpSeriesKey;
    static std::uint64_t activity(const SmtpCounters& c) {
        std::uint64_t n = 0;
        for (auto v : c.outcomes)
            n += v;
        return n;
    }
    static void add_swept(SmtpCounters& c, std::uint64_t n) { c.outcomes[MXS_SMTP_TIMEOUT] += n; }
    static SeriesKey series_key(std::string label, const mxs_server_key& k) {
        return {std::move(label), role_name(k.role)};
    }
};

// SMTP per server and role (transport: TCP); the sweep's counts are connection timeouts (SYNs
// unanswered past smtp.connect_timeout).
using SmtpAggregator = Aggregator<SmtpTraits>;

} // namespace mxs
