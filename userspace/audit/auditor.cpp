#include "audit/auditor.h"

#include "audit/checks.h"
#include "audit/smtp_session.h"
#include "probes/dns_client.h"
#include "probes/watchdog.h"

#include <algorithm>
#include <arpa/nameser.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <ctime>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <map>
#include <optional>
#include <type_traits>

namespace mxs {
namespace asio = boost::asio;

const std::vector<std::string>& audit_check_names() {
    static const std::vector<std::string> names = {"mx_present",
                                                   "mx_target_valid",
                                                   "mx_resolves",
                                                   "mx_ttl",
                                                   "ns_count",
                                                   "ns_udp",
                                                   "ns_tcp",
                                                   "ns_prefix_diversity",
                                                   "soa_serial_consistent",
                                                   "ns_set_consistent",
                                                   "ptr_fcrdns",
                                                   "smtp_accepts_domain",
                                                   "starttls_consistent",
                                                   "tls_name_matches",
                                                   "mta_sts_covers_mx"};
    return names;
}

namespace {

// Runs `work` on `pool` and resumes on this coroutine's executor with its result: a timer that
// never expires is cancelled from the pool once the work is done. The pool is joined before
// the io_context goes, so the cancel never reaches a destroyed executor.
template <class F>
asio::awaitable<std::invoke_result_t<F>> off_thread(asio::thread_pool& pool, F work) {
    auto ex = co_await asio::this_coro::executor;
    auto done = std::make_shared<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
    auto result = std::make_shared<std::optional<std::invoke_result_t<F>>>();
    asio::post(pool, [done, result, work = std::move(work)] {
        *result = work();
        asio::post(done->get_executor(), [done] { done->cancel(); });
    });
    boost::system::error_code ec;
    co_await done->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return std::move(**result);
}

class Audit {
  public:
    Audit(std::string domain, AuditOptions opts)
        : domain_(dns_key(std::move(domain))), opts_(std::move(opts)) {}

    asio::awaitable<AuditReport> run() {
        co_await mx_checks();
        co_await ns_checks();
        co_await smtp_checks();
        co_await mta_sts();
        AuditReport r{
            domain_, {}, std::move(serials_), std::move(certificate_expiry_), differ_since_};
        for (auto& f : findings_)
            if (wanted(f.check))
                r.findings.push_back(std::move(f));
        // A check asked for by name that found nothing to judge says so: an empty report
        // would read as OK (tls_name_matches when no host offered STARTTLS, say).
        for (const auto& c : opts_.checks)
            if (std::none_of(r.findings.begin(), r.findings.end(),
                             [&](const Finding& f) { return f.check == c; }))
                r.findings.push_back({c, domain_, AuditStatus::unknown,
                                      "nothing to judge: the facts it needs were not found"});
        co_return r;
    }

  private:
    bool wanted(const std::string& check) const {
        return opts_.checks.empty() || opts_.checks.count(check);
    }

    // Seconds one step may take: `n` timeouts, cut to what is left before the deadline; 0
    // when it has passed.
    double budget(double n = 1) const {
        const double want = n * opts_.timeout_s;
        if (!opts_.deadline)
            return want;
        const double left =
            std::chrono::duration<double>(*opts_.deadline - std::chrono::steady_clock::now())
                .count();
        return left <= 0 ? 0 : std::min(want, left);
    }

    // A question, over UDP, again over TCP when the answer was truncated.
    asio::awaitable<DnsReply> ask(const std::string& server, const std::string& name, int type,
                                  bool recursion = true, bool tcp = false) {
        auto r = co_await exchange(server, name, type, recursion, tcp);
        if (!tcp && r.failure == "timeout") // one lost datagram is not a verdict: once more
            r = co_await exchange(server, name, type, recursion, false);
        if (!tcp && r.failure.empty() && r.truncated)
            r = co_await exchange(server, name, type, recursion, true);
        co_return r;
    }

    // One exchange within the budget; a timeout of a budget the deadline cut is "deadline".
    asio::awaitable<DnsReply> exchange(const std::string& server, const std::string& name, int type,
                                       bool recursion, bool tcp) {
        const double t = budget();
        DnsReply r;
        if (t > 0)
            r = co_await dns_exchange(server, 53, name, type, tcp, t, {}, recursion);
        if (t == 0 || (r.failure == "timeout" && t < opts_.timeout_s))
            r.failure = "deadline";
        co_return r;
    }

    // The addresses of `host` from the resolver: its A and AAAA records (after any alias), at
    // most kMaxAddresses; `lookup_failed` (why) when there are none and a query failed
    // (resolver_failure(): no address is then no fact about the host).
    asio::awaitable<std::vector<std::string>> addresses(const std::string& host,
                                                        std::string* lookup_failed = nullptr) {
        std::vector<std::string> out;
        std::string failed;
        for (int type : {ns_t_a, ns_t_aaaa}) {
            const auto r = co_await ask(opts_.resolver, host, type);
            if (auto why = resolver_failure(r); !why.empty() && failed.empty())
                failed = (type == ns_t_a ? "A query: " : "AAAA query: ") + why;
            for (const auto& a : r.answers)
                if (a.type == type && out.size() < kMaxAddresses &&
                    std::find(out.begin(), out.end(), a.data) == out.end())
                    out.push_back(a.data);
        }
        if (lookup_failed)
            *lookup_failed = out.empty() ? failed : "";
        co_return out;
    }

    // Bounds on what one domain's answers can make the audit do (a hostile zone can list
    // thousands of records): the first so many, in the order given, and the rest named.
    static constexpr std::size_t kMaxHosts = 10, kMaxAddresses = 4, kMaxNameServers = 8,
                                 kMaxPtrNames = 4;
    // An SMTP session's bound, in timeouts: it spans connect, greeting (which a server may
    // delay on purpose, as Postfix's postscreen does), TLS and four commands.
    static constexpr double kSessionTimeouts = 6;

    // "" when address:port accepts a TCP connection within the timeout, else why not.
    asio::awaitable<std::string> connect(const std::string& address, std::uint16_t port) {
        auto ex = co_await asio::this_coro::executor;
        boost::system::error_code ec;
        const auto addr = asio::ip::make_address(address, ec);
        if (ec)
            co_return "not an address";
        const double t = budget();
        if (t == 0)
            co_return "deadline";
        auto sock = std::make_shared<asio::ip::tcp::socket>(ex);
        Watchdog dog(ex, t, [sock] { sock->close(); });
        try {
            co_await sock->async_connect({addr, port}, asio::use_awaitable);
        } catch (const boost::system::system_error& e) {
            if (dog.fired())
                co_return t < opts_.timeout_s ? "deadline" : "timeout";
            if (e.code() == asio::error::connection_refused)
                co_return "refused";
            if (e.code() == asio::error::network_unreachable)
                co_return "unreachable from this host";
            co_return e.code().message();
        }
        co_return "";
    }

    asio::awaitable<void> mx_checks() {
        const auto mx = co_await ask(opts_.resolver, domain_, ns_t_mx);
        const auto present_at = findings_.size();
        findings_.push_back(judge_mx_present(domain_, mx, opts_.null_mx.count(domain_) > 0));
        // In preference order, so that the bound leaves out the last resorts, not the primary.
        std::vector<const DnsRecord*> records;
        for (const auto& r : mx.answers)
            if (r.type == ns_t_mx)
                records.push_back(&r);
        std::stable_sort(
            records.begin(), records.end(),
            [](const DnsRecord* a, const DnsRecord* b) { return a->preference < b->preference; });
        std::set<std::string> seen;
        for (const auto* rp : records) {
            const auto& r = *rp;
            const auto host = dns_key(r.data);
            if (host.empty() || !seen.insert(host).second)
                continue; // a host listed twice is audited once
            if (hosts_.size() == kMaxHosts) {
                // Said in mx_present's finding: one finding per check and target.
                auto& present = findings_[present_at];
                if (present.status == AuditStatus::ok)
                    present.status = AuditStatus::warning;
                present.detail += fmt::format("; more than {} MX hosts: the {} most preferred "
                                              "audited",
                                              kMaxHosts, kMaxHosts);
                break;
            }
            const auto a = co_await ask(opts_.resolver, host, ns_t_a);
            findings_.push_back(judge_mx_target(host, a));
            std::string lookup_failed;
            const auto addrs = co_await addresses(host, &lookup_failed);
            std::map<std::string, std::string> connects;
            const auto seen = opts_.mx_seen_accepting.find(host);
            const bool passive = seen != opts_.mx_seen_accepting.end() && !addrs.empty();
            if (wanted("mx_resolves") && !passive)
                for (const auto& addr : addrs)
                    connects[addr] = co_await connect(addr, opts_.smtp_port);
            if (!lookup_failed.empty()) {
                findings_.push_back({"mx_resolves", host, AuditStatus::unknown, lookup_failed});
                // Its addresses are ptr_fcrdns's targets: say that they are not known.
                findings_.push_back({"ptr_fcrdns", host, AuditStatus::unknown,
                                     "the host's addresses not learned: " + lookup_failed});
            } else if (passive) // the traffic's evidence: no connection of the audit's own
                findings_.push_back(
                    {"mx_resolves", host, AuditStatus::ok,
                     fmt::format("{} address(es); {}", addrs.size(), seen->second)});
            else
                findings_.push_back(judge_mx_resolves(host, addrs, connects));
            hosts_.push_back({r.preference, host, addrs});
            for (const auto& addr : addrs) // once each, however many hosts share it
                if (std::find(mx_addresses_.begin(), mx_addresses_.end(), addr) ==
                    mx_addresses_.end())
                    mx_addresses_.push_back(addr);
        }
    }

    asio::awaitable<void> ns_checks() {
        const auto ns = co_await ask(opts_.resolver, domain_, ns_t_ns);
        std::vector<std::string> names, ns_addresses;
        bool more_names = false;
        for (const auto& r : ns.answers)
            if (r.type == ns_t_ns &&
                std::find(names.begin(), names.end(), dns_key(r.data)) == names.end()) {
                if (names.size() < kMaxNameServers)
                    names.push_back(dns_key(r.data));
                else
                    more_names = true;
            }
        bool addresses_unknown = false;
        for (const auto& n : names) {
            std::string failed;
            const auto found = co_await addresses(n, &failed); // no temporary across co_await
            addresses_unknown = addresses_unknown || !failed.empty();
            for (const auto& a : found)
                if (std::find(ns_addresses.begin(), ns_addresses.end(), a) == ns_addresses.end())
                    ns_addresses.push_back(a);
        }
        // The resolver's trouble (no answer, SERVFAIL, REFUSED), not the domain's: cannot tell.
        if (auto why = resolver_failure(ns); !why.empty())
            findings_.push_back({"ns_count", domain_, AuditStatus::unknown, "NS query: " + why});
        else
            findings_.push_back(judge_ns_count(domain_, names, ns_addresses, addresses_unknown));
        if (more_names) { // said, as for the MX hosts: one finding per check and target
            auto& count = findings_.back();
            if (count.status == AuditStatus::ok)
                count.status = AuditStatus::warning;
            count.detail += fmt::format("; more than {} name servers: the first {} audited",
                                        kMaxNameServers, kMaxNameServers);
        }
        std::map<std::string, std::optional<std::uint32_t>> serials;
        std::map<std::string, std::set<std::string>> sets;
        std::optional<std::uint32_t> authoritative_ttl;
        for (const auto& addr : ns_addresses) {
            const auto udp = co_await ask(addr, domain_, ns_t_soa, false);
            findings_.push_back(judge_ns_transport("ns_udp", addr, domain_, udp));
            const auto tcp = co_await ask(addr, domain_, ns_t_soa, false, true);
            findings_.push_back(judge_ns_transport("ns_tcp", addr, domain_, tcp));
            serials[addr] = serial_of(udp.failure.empty() ? udp : tcp);
            const auto set = co_await ask(addr, domain_, ns_t_ns, false);
            if (set.failure.empty() && set.rcode == ns_r_noerror && set.authoritative)
                for (const auto& r : set.answers)
                    if (r.type == ns_t_ns)
                        sets[addr].insert(dns_key(r.data));
            if (!authoritative_ttl) { // the MX TTL as the zone has it, not a cache's rest
                const auto mx = co_await ask(addr, domain_, ns_t_mx, false);
                if (mx.failure.empty() && mx.authoritative)
                    for (const auto& r : mx.answers)
                        if (r.type == ns_t_mx)
                            authoritative_ttl = r.ttl;
            }
        }
        // The TTL as the zone has it: a resolver's copy counts down in its cache.
        if (authoritative_ttl)
            findings_.push_back(judge_mx_ttl(domain_, *authoritative_ttl, opts_.mx_ttl_min_s,
                                             opts_.mx_ttl_max_s,
                                             opts_.failed_over.count(domain_) > 0));
        else if (!hosts_.empty())
            findings_.push_back({"mx_ttl", domain_, AuditStatus::unknown,
                                 "no name server answered the MX query authoritatively"});
        if (ns_addresses.empty())
            findings_.push_back({"ns_prefix_diversity", domain_, AuditStatus::unknown,
                                 "no name server address found"});
        else
            findings_.push_back(judge_prefix_diversity(domain_, ns_addresses));
        co_await wait_for_serials(serials);
        findings_.push_back(judge_ns_sets(domain_, sets));
        for (const auto& addr : mx_addresses_)
            co_await fcrdns(addr);
    }

    // At each MX host, in preference order (the first is the primary): the session on its
    // first address.
    asio::awaitable<void> smtp_checks() {
        if (!wanted("smtp_accepts_domain") && !wanted("starttls_consistent") &&
            !wanted("tls_name_matches"))
            co_return;
        std::stable_sort(hosts_.begin(), hosts_.end(), [](const MxTarget& a, const MxTarget& b) {
            return a.preference < b.preference;
        });
        // Whether the primary offers STARTTLS; unset while its session has not told (no
        // address, or the dialogue failed before EHLO's answer).
        std::optional<bool> primary_offers;
        for (std::size_t i = 0; i < hosts_.size(); ++i) {
            const auto& h = hosts_[i];
            if (h.addresses.empty()) { // mx_resolves judges that
                for (const char* c : {"smtp_accepts_domain", "starttls_consistent"})
                    findings_.push_back({c, h.host, AuditStatus::unknown, "not asked: no address"});
                continue;
            }
            // The session at the first address that takes a connection, as a sender tries
            // them (RFC 5321 §5.1).
            SmtpSessionFacts s;
            std::string addr;
            for (const auto& a : h.addresses) {
                addr = a;
                const double t = budget(kSessionTimeouts);
                if (t == 0) {
                    s = {};
                    s.failure = "deadline";
                    break;
                }
                s = co_await smtp_session(a, opts_.smtp_port, h.host, domain_, opts_.ehlo_name, t,
                                          opts_.ca_file);
                // A session the deadline cut short tells nothing about the host.
                if (t < kSessionTimeouts * opts_.timeout_s && !s.rcpt_answered &&
                    s.failure.find("timeout") != std::string::npos) {
                    s.failure = "deadline (" + s.failure + ")";
                    break;
                }
                if (s.connected)
                    break;
            }
            const bool told = s.failure.empty() || s.starttls;
            if (i == 0 && told)
                primary_offers = s.starttls;
            findings_.push_back(judge_smtp_accepts(h.host, addr, s));
            if (told && (i == 0 || primary_offers))
                findings_.push_back(judge_starttls_consistent(
                    h.host, primary_offers.value_or(false), s.starttls, i == 0));
            else if (told)
                findings_.push_back({"starttls_consistent", h.host, AuditStatus::unknown,
                                     "the primary's session did not tell whether it offers "
                                     "STARTTLS"});
            if (s.cert_seen)
                certificate_expiry_[h.host] = s.not_after;
            if (auto f = judge_tls_name(h.host, s, static_cast<std::int64_t>(std::time(nullptr))))
                findings_.push_back(std::move(*f));
        }
    }

    // The policy is fetched with libcurl's blocking interface: inline on the command line, on
    // the `blocking` pool in the agent.
    asio::awaitable<void> mta_sts() {
        if (!wanted("mta_sts_covers_mx"))
            co_return;
        const auto txt = co_await ask(opts_.resolver, "_mta-sts." + domain_, ns_t_txt);
        std::optional<HttpsResponse> policy;
        bool announced = false;
        for (const auto& r : txt.answers)
            announced = announced || (r.type == ns_t_txt && is_mta_sts_record(r.data));
        if (announced) {
            const auto host = "mta-sts." + domain_;
            std::string failed;
            const auto addrs = co_await addresses(host, &failed);
            if (!failed.empty()) {
                findings_.push_back(
                    {"mta_sts_covers_mx", domain_, AuditStatus::unknown,
                     "MTA-STS announced; the address of " + host + " not learned: " + failed});
                co_return;
            }
            if (!addrs.empty()) {
                const double t = budget();
                if (t == 0) {
                    findings_.push_back({"mta_sts_covers_mx", domain_, AuditStatus::unknown,
                                         "the policy not fetched: the audit's deadline passed"});
                    co_return;
                }
                const auto fetch = [host, addr = addrs.front(), t, o = opts_] {
                    return https_get(host, addr, "/.well-known/mta-sts.txt", t, o.ca_file);
                };
                // Not `cond ? co_await ... : ...`: GCC 12 miscompiles a co_await inside the
                // conditional operator (the command line crashed with SIGSEGV here).
                if (opts_.blocking)
                    policy = co_await off_thread(*opts_.blocking, fetch);
                else
                    policy = fetch();
                // A fetch the deadline cut short tells nothing about the policy.
                if (t < opts_.timeout_s && policy && policy->status == 0 &&
                    policy->error.find("timed out") != std::string::npos) {
                    findings_.push_back({"mta_sts_covers_mx", domain_, AuditStatus::unknown,
                                         "the policy not fetched: the audit's deadline passed (" +
                                             policy->error + ")"});
                    co_return;
                }
            }
        }
        std::vector<std::string> hosts;
        for (const auto& h : hosts_)
            hosts.push_back(h.host);
        for (auto& f : judge_mta_sts(domain_, txt, policy ? &*policy : nullptr, hosts))
            findings_.push_back(std::move(f));
    }

    static std::optional<std::uint32_t> serial_of(const DnsReply& r) {
        if (!r.failure.empty() || r.rcode != ns_r_noerror)
            return std::nullopt;
        for (const auto& a : r.answers)
            if (a.type == ns_t_soa)
                return a.serial;
        return std::nullopt;
    }

    static double unix_now() {
        return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    }

    // Serials that differ may be a change still propagating: asked again each second, up to
    // the grace period (or serial_wait_s), before they count. How long they have differed
    // counts from an earlier run's sighting when the agent passes one.
    asio::awaitable<void> wait_for_serials(std::map<std::string, std::optional<std::uint32_t>> s) {
        const auto start = std::chrono::steady_clock::now();
        const auto start_unix = unix_now();
        auto waited = [&] {
            return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        };
        const auto earlier = opts_.serials_differ_since.find(domain_);
        const double since =
            earlier == opts_.serials_differ_since.end() ? start_unix : earlier->second;
        // A clock stepped back makes no negative duration.
        auto differed = [&] { return std::max(waited(), unix_now() - since); };
        const double wait_limit =
            opts_.serial_wait_s < 0 ? opts_.serial_grace_s : opts_.serial_wait_s;
        // The servers that answered the latest round: a serial kept from an earlier one (the
        // server fell silent since) is no evidence that the serials still differ.
        std::set<std::string> fresh;
        for (const auto& [a, v] : s)
            if (v)
                fresh.insert(a);
        auto differ = [&] {
            std::set<std::uint32_t> seen;
            for (const auto& [a, v] : s)
                if (v)
                    seen.insert(*v);
            return seen.size() > 1;
        };
        asio::steady_timer timer(co_await asio::this_coro::executor);
        // Another second of waiting only while it ends before the deadline (if one).
        auto in_time = [&] { return budget(1.0 / opts_.timeout_s) > 0.999; };
        while (wanted("soa_serial_consistent") && differ() && differed() < opts_.serial_grace_s &&
               waited() < wait_limit && in_time()) {
            timer.expires_after(std::chrono::seconds(1));
            co_await timer.async_wait(asio::use_awaitable);
            fresh.clear();
            for (auto& [addr, v] : s) // a server that gave a serial keeps it if now silent
                if (auto again = serial_of(co_await ask(addr, domain_, ns_t_soa, false))) {
                    v = again;
                    fresh.insert(addr);
                }
        }
        if (differ())
            differ_since_ = std::min(since, start_unix);
        std::set<std::string> silent;
        for (const auto& [a, v] : s)
            if (v && !fresh.count(a))
                silent.insert(a);
        if (differ() && differed() < opts_.serial_grace_s && waited() < wait_limit && !in_time())
            findings_.push_back({"soa_serial_consistent", domain_, AuditStatus::unknown,
                                 "the serials differ; not followed for the grace period: the "
                                 "audit's deadline passed"});
        else
            findings_.push_back(
                judge_serials(domain_, s, differ() ? differed() : 0, opts_.serial_grace_s, silent));
        for (const auto& [addr, serial] : s)
            if (serial)
                serials_[addr] = *serial;
    }

    asio::awaitable<void> fcrdns(const std::string& address) {
        const auto name = reverse_name(address);
        if (!name)
            co_return;
        const auto ptr = co_await ask(opts_.resolver, *name, ns_t_ptr);
        // At most kMaxPtrNames names looked up: an address's PTR set is the answer's to make.
        std::map<std::string, std::optional<std::vector<std::string>>> forward;
        for (const auto& r : ptr.answers) {
            if (r.type != ns_t_ptr || forward.size() == kMaxPtrNames)
                continue;
            std::string failed;
            auto addrs = co_await addresses(dns_key(r.data), &failed);
            forward[dns_key(r.data)] =
                failed.empty() ? std::optional(std::move(addrs)) : std::nullopt;
        }
        findings_.push_back(judge_fcrdns(address, ptr, forward));
    }

    std::string domain_;
    AuditOptions opts_;
    std::vector<Finding> findings_;
    std::vector<std::string> mx_addresses_;
    struct MxTarget {
        std::uint16_t preference;
        std::string host;
        std::vector<std::string> addresses;
    };
    std::vector<MxTarget> hosts_; // as the MX records list them
    std::map<std::string, std::uint32_t> serials_;
    std::map<std::string, std::int64_t> certificate_expiry_;
    std::optional<double> differ_since_;
};

} // namespace

asio::awaitable<AuditReport> audit_domain(std::string domain, AuditOptions opts) {
    Audit a(std::move(domain), std::move(opts));
    co_return co_await a.run();
}

} // namespace mxs
