#include "app/audit_command.h"

#include "audit/auditor.h"
#include "audit/checks.h"
#include "base/local_addr.h"
#include "base/shown.h"
#include "config/command_line.h"
#include "config/dns_names.h"
#include "config/option_table.h"
#include "probes/coro.h"
#include "probes/smtp_probe.h"

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <iostream>
#include <memory>
#include <openssl/x509_vfy.h>

namespace mxs {

void AuditCommand::add_to(CLI::App& app) {
    cmd = app.add_subcommand("audit", "Audit mail domains' failover path (exit 0 OK, 1 WARNING, "
                                      "2 CRITICAL, 3 UNKNOWN)");
    cmd->add_option("domain", domains, "Mail domain to audit (repeatable)")->required();
    cmd->add_flag("--json", json, "Print the findings as JSON");
    cmd->add_option("--resolver", resolver,
                    "Recursive resolver to ask (default: the first nameserver of "
                    "/etc/resolv.conf)");
    // Numbers read as the agent's are (read_number: "nan", "inf", "010" refused).
    read_as_number(cmd->add_option("--timeout", timeout_s, "Seconds a query or connection may take")
                       ->capture_default_str(),
                   Range{0.001, 60, false, "seconds"});
    read_as_number(cmd->add_option("--serial-grace", serial_grace_s,
                                   "Seconds name servers' SOA serials may differ (a change "
                                   "propagating)")
                       ->capture_default_str(),
                   Range{0, 3600, false, "seconds"});
    read_as_number(cmd->add_option("--deadline", deadline_s,
                                   "Seconds the whole audit may take (0: no bound); what is not "
                                   "asked by then is UNKNOWN, as a monitoring plugin's timeout")
                       ->capture_default_str(),
                   Range{0, 86400, false, "seconds"});
    read_as_number(
        cmd->add_option("--mx-ttl-min", mx_ttl_min_s, "MX TTL below which mx_ttl warns (seconds)")
            ->capture_default_str(),
        Range{0, 604800, true, "seconds"});
    read_as_number(
        cmd->add_option("--mx-ttl-max", mx_ttl_max_s, "MX TTL above which mx_ttl warns (seconds)")
            ->capture_default_str(),
        Range{0, 604800, true, "seconds"});
    cmd->add_option("--null-mx", null_mx,
                    "A domain that declares it takes no mail (repeatable): its null MX is OK "
                    "(RFC 7505)")
        ->allow_extra_args(false);
    cmd->add_option("--check", checks,
                    fmt::format("Run only this check (repeatable): {}",
                                fmt::join(audit_check_names(), ", ")))
        ->allow_extra_args(false); // one name each: "--check mx_ttl example.test"
    cmd->add_option("--ehlo", ehlo_name,
                    "EHLO name of the SMTP sessions (default: this host's name)");
    cmd->add_option("--ca-file", ca_file,
                    "CA certificates (PEM) that MX certificates and the MTA-STS policy's are "
                    "verified against (default: the system's trust store)")
        ->check(CLI::ExistingFile);
    cmd->footer("Every finding is one line: STATUS CHECK TARGET: DETAIL (DOMAIN).");
}

int AuditCommand::run() const {
    constexpr int kUnknown = static_cast<int>(AuditStatus::unknown);
    AuditOptions o;
    static_cast<AuditPolicy&>(o) = *this;
    o.timeout_s = timeout_s;
    if (mx_ttl_min_s > mx_ttl_max_s) {
        std::cerr << "mxsense audit: --mx-ttl-min is above --mx-ttl-max\n";
        return kUnknown;
    }
    for (const auto& c : checks) {
        const auto& names = audit_check_names();
        if (std::find(names.begin(), names.end(), c) == names.end()) {
            std::cerr << fmt::format("mxsense audit: --check: {} is not a check ({})\n", shown(c),
                                     fmt::join(names, ", "));
            return kUnknown;
        }
        o.checks.insert(c);
    }
    for (const auto& d : domains)
        if (auto e = check_dns_name(d, false); !e) {
            std::cerr << fmt::format("mxsense audit: {} is not a DNS name: {}\n", shown(d),
                                     e.error());
            return kUnknown;
        }
    if (!ca_file.empty()) { // a file that is no PEM would fail every STARTTLS host's check
        std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(),
                                                                      X509_STORE_free);
        if (!store || X509_STORE_load_locations(store.get(), ca_file.c_str(), nullptr) != 1) {
            std::cerr << fmt::format("mxsense audit: --ca-file: {}: no PEM certificates\n",
                                     shown(ca_file));
            return kUnknown;
        }
    }
    for (const auto& d : null_mx)
        o.null_mx.insert(dns_key(d));
    o.ehlo_name = ehlo_name_or_host(ehlo_name);
    if (auto e = check_dns_name(o.ehlo_name, false); !ehlo_name.empty() && !e) {
        std::cerr << fmt::format("mxsense audit: --ehlo: {} is not a DNS name: {}\n",
                                 shown(o.ehlo_name), e.error());
        return kUnknown;
    }
    o.resolver = resolver;
    if (o.resolver.empty()) {
        auto ns = read_nameservers("/etc/resolv.conf");
        if (!ns || ns->empty()) {
            std::cerr << "mxsense audit: no nameserver in /etc/resolv.conf: give --resolver\n";
            return kUnknown;
        }
        o.resolver = ns->front();
    }
    if (!is_address(o.resolver)) {
        std::cerr << fmt::format("mxsense audit: --resolver: {} is not an IP address\n",
                                 shown(o.resolver));
        return kUnknown;
    }
    if (deadline_s > 0)
        o.deadline = std::chrono::steady_clock::now() +
                     std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                         std::chrono::duration<double>(deadline_s));
    boost::asio::io_context io;
    std::vector<AuditReport> reports;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
            for (const auto& d : domains)
                reports.push_back(co_await audit_domain(d, o));
        },
        boost::asio::detached);
    io.run();
    std::cout << (json ? audit_json(reports) : audit_text(reports));
    return static_cast<int>(worst(reports));
}

} // namespace mxs
