#include "audit/audit_runner.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <chrono>
#include <spdlog/spdlog.h>

namespace mxs {
namespace asio = boost::asio;

namespace {
// A run soon after a change: not at once, so that a burst of changes (discovery refreshing
// several domains) is audited once.
constexpr double kSoonS = 5;
} // namespace

std::map<std::string, double> serials_differ_since(const std::vector<AuditReport>& reports) {
    std::map<std::string, double> since;
    for (const auto& r : reports)
        if (r.serials_differ_since)
            since[r.domain] = *r.serials_differ_since;
    return since;
}

double next_audit_in(const std::map<std::string, double>& since, double grace_s, double interval_s,
                     double now_unix) {
    double next = interval_s;
    for (const auto& [domain, t] : since) {
        const double left = t + grace_s - now_unix;
        if (left > 0)
            next = std::min(next, left + 1);
    }
    return next;
}

AuditRunner::AuditRunner(asio::io_context& io) : io_(io), timer_(io) {}

AuditRunner::~AuditRunner() {
    stop();
    if (blocking_)
        blocking_->join();
}

void AuditRunner::configure(std::vector<std::string> domains, AuditOptions opts,
                            double interval_s) {
    domains_ = std::move(domains);
    // What the windows told (set_mx_seen_accepting) holds until the next window, reload or not.
    opts.mx_seen_accepting = std::move(opts_.mx_seen_accepting);
    opts_ = std::move(opts);
    interval_s_ = interval_s;
    snapshot_.enabled = interval_s_ > 0 && !domains_.empty();
    if (snapshot_.enabled)
        arm(kSoonS);
    else
        timer_.cancel();
}

void AuditRunner::run_soon() {
    if (!snapshot_.enabled || stopped_)
        return;
    if (running_)
        again_ = true;
    else
        arm(kSoonS);
}

void AuditRunner::stop() {
    stopped_ = true;
    timer_.cancel();
}

void AuditRunner::arm(double seconds) {
    timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(seconds)));
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec && !stopped_)
            start_run();
    });
}

void AuditRunner::start_run() {
    if (running_) {
        again_ = true;
        return;
    }
    running_ = true;
    if (!blocking_)
        blocking_ = std::make_unique<asio::thread_pool>(1);
    opts_.blocking = blocking_.get();
    opts_.serials_differ_since = differ_since_;
    asio::co_spawn(
        io_,
        // The run's own copies: a reload (configure()) during the run must not change what
        // the loop walks (it freed the vector under it).
        [this, domains = domains_, opts = opts_]() -> asio::awaitable<void> {
            const auto start = std::chrono::steady_clock::now();
            std::vector<AuditReport> reports;
            for (const auto& d : domains)
                reports.push_back(co_await audit_domain(d, opts));
            differ_since_ = serials_differ_since(reports);
            snapshot_.reports = std::move(reports);
            snapshot_.duration_s =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            snapshot_.last_run_s =
                std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                    .count();
            ++snapshot_.runs;
            std::size_t bad = 0;
            for (const auto& r : snapshot_.reports)
                for (const auto& f : r.findings)
                    bad += f.status != AuditStatus::ok;
            spdlog::info("audit: {} domain(s), {} finding(s) not ok, {:.1f} s",
                         snapshot_.reports.size(), bad, snapshot_.duration_s);
            running_ = false;
            if (stopped_ || !snapshot_.enabled)
                co_return;
            arm(std::exchange(again_, false) ? kSoonS
                                             : next_audit_in(differ_since_, opts_.serial_grace_s,
                                                             interval_s_, snapshot_.last_run_s));
        },
        asio::detached);
}

} // namespace mxs
