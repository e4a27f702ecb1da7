// The agent's periodic audit: every domain audited each interval, and again soon after a
// discovery change or a switchover; the last completed run kept for the views.
#pragma once

#include "audit/auditor.h"
#include "audit/finding.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace mxs {

/// Each domain whose name servers' serials differed at the last run, with since when (Unix
/// seconds): what the next run counts a difference's duration from.
std::map<std::string, double> serials_differ_since(const std::vector<AuditReport>& reports);

/// Seconds until the next periodic run: `interval_s`, or sooner, 1 s after the earliest grace
/// period (`grace_s` from each `since`) that has not ended at `now_unix`, so that serials still
/// differing then are judged CRITICAL then and not an interval later.
double next_audit_in(const std::map<std::string, double>& since, double grace_s, double interval_s,
                     double now_unix);

/// Runs audit_domain() for the configured domains on the agent's io_context, one run at a
/// time; the blocking part (an HTTPS GET) on a thread of its own.
class AuditRunner {
  public:
    explicit AuditRunner(boost::asio::io_context& io);
    /// Stops the timer and joins the blocking thread (a fetch in progress ends by its timeout).
    ~AuditRunner();
    AuditRunner(const AuditRunner&) = delete;
    AuditRunner& operator=(const AuditRunner&) = delete;

    /// What to audit and how often (seconds; 0: never); a first run follows shortly.
    void configure(std::vector<std::string> domains, AuditOptions opts, double interval_s);
    /// Another run soon (a discovery change, a switchover): after the one in progress, if any.
    void run_soon();
    /// The domains failed over now (from the health monitor), for the next run's mx_ttl.
    void set_failed_over(std::set<std::string> domains) { opts_.failed_over = std::move(domains); }
    /// What the sensor saw of MX hosts accepting connections (each window), for the next run's
    /// mx_resolves: MX host -> a phrase saying what.
    void set_mx_seen_accepting(std::map<std::string, std::string> seen) {
        opts_.mx_seen_accepting = std::move(seen);
    }
    /// Cancels the timer; a run in progress completes without starting another.
    void stop();
    /// The last completed run.
    const AuditSnapshot& snapshot() const { return snapshot_; }

  private:
    void arm(double seconds);
    void start_run();

    boost::asio::io_context& io_;
    boost::asio::steady_timer timer_;
    // Made at the first run, not before: the agent drops its capabilities while it has one
    // thread (libcap-ng acts on the calling thread), and a thread made later inherits that.
    std::unique_ptr<boost::asio::thread_pool> blocking_;
    std::vector<std::string> domains_;
    AuditOptions opts_;
    double interval_s_ = 0;
    bool running_ = false, again_ = false, stopped_ = false;
    AuditSnapshot snapshot_;
    std::map<std::string, double> differ_since_; // serials_differ_since() of the last run
};

} // namespace mxs
