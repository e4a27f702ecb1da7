#include "probes/dns_client.h"

#include "probes/bind_device.h"
#include "probes/watchdog.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <chrono>
#include <fmt/format.h>
#include <random>
#include <resolv.h>
#include <set>

namespace mxs {

namespace asio = boost::asio;
using asio::use_awaitable;

Result<std::vector<std::uint8_t>> build_dns_query(const std::string& name, int type,
                                                  std::uint16_t id, bool recursion) {
    std::vector<std::uint8_t> buf(NS_PACKETSZ);
    const int n = res_mkquery(ns_o_query, name.c_str(), ns_c_in, type, nullptr, 0, nullptr,
                              buf.data(), static_cast<int>(buf.size()));
    if (n < static_cast<int>(NS_HFIXEDSZ))
        return Error{fmt::format("cannot build a DNS query for '{}'", name)};
    buf.resize(static_cast<std::size_t>(n));
    buf[0] = static_cast<std::uint8_t>(id >> 8);
    buf[1] = static_cast<std::uint8_t>(id);
    buf[2] = static_cast<std::uint8_t>(recursion ? buf[2] | 0x01 : buf[2] & ~0x01); // RD
    return buf;
}

std::string dns_key(std::string name) {
    for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while (!name.empty() && name.back() == '.')
        name.pop_back();
    return name;
}

namespace {

// The names whose records answer the question: qname and every name a CNAME of the chain from
// it points to (bounded: a chain longer than 8 is a loop or an attack).
std::set<std::string> answer_owners(ns_msg& h, const std::string& qname) {
    std::set<std::string> owners{dns_key(qname)};
    for (int pass = 0; pass < 8; ++pass) {
        const auto before = owners.size();
        for (int i = 0; i < ns_msg_count(h, ns_s_an); ++i) {
            ns_rr rr;
            char target[NS_MAXDNAME];
            if (ns_parserr(&h, ns_s_an, i, &rr) < 0 || ns_rr_type(rr) != ns_t_cname ||
                !owners.count(dns_key(ns_rr_name(rr))) ||
                dn_expand(ns_msg_base(h), ns_msg_end(h), ns_rr_rdata(rr), target, sizeof target) <
                    0)
                continue;
            owners.insert(dns_key(target));
        }
        if (owners.size() == before)
            break;
    }
    return owners;
}

} // namespace

Result<DnsReply> parse_dns_reply(const std::uint8_t* msg, std::size_t len, std::uint16_t id,
                                 const std::string& qname, int qtype) {
    ns_msg h;
    if (ns_initparse(msg, static_cast<int>(len), &h) < 0)
        return Error{"malformed DNS message"};
    if (ns_msg_id(h) != id || !ns_msg_getflag(h, ns_f_qr))
        return Error{"not the answer to this query"};
    DnsReply r;
    r.sent = true;
    r.rcode = ns_msg_getflag(h, ns_f_rcode);
    r.authoritative = ns_msg_getflag(h, ns_f_aa) != 0;
    r.truncated = ns_msg_getflag(h, ns_f_tc) != 0;
    if (ns_msg_count(h, ns_s_qd) == 0) {
        if (r.rcode != ns_r_formerr && r.rcode != ns_r_servfail && r.rcode != ns_r_notimpl &&
            r.rcode != ns_r_refused)
            return Error{"an answer without the question"};
        return r; // an error without the question: it says nothing more
    }
    ns_rr q;
    if (ns_msg_count(h, ns_s_qd) != 1 || ns_parserr(&h, ns_s_qd, 0, &q) < 0 ||
        dns_key(ns_rr_name(q)) != dns_key(qname) || ns_rr_type(q) != qtype ||
        ns_rr_class(q) != ns_c_in)
        return Error{"not the answer to this question"};
    const auto owners = answer_owners(h, qname);
    for (int i = 0; i < ns_msg_count(h, ns_s_an); ++i) {
        ns_rr rr;
        if (ns_parserr(&h, ns_s_an, i, &rr) < 0)
            return Error{"malformed answer record"};
        if (!owners.count(dns_key(ns_rr_name(rr))))
            continue; // not about the question
        DnsRecord rec{ns_rr_name(rr), ns_rr_type(rr), ns_rr_ttl(rr), {}, 0};
        const unsigned char* rd = ns_rr_rdata(rr);
        const auto rdlen = ns_rr_rdlen(rr);
        char text[NS_MAXDNAME];
        auto expand = [&](const unsigned char* at) {
            return dn_expand(ns_msg_base(h), ns_msg_end(h), at, text, sizeof text) >= 0;
        };
        switch (rec.type) {
        case ns_t_a:
        case ns_t_aaaa: {
            const int af = rec.type == ns_t_a ? AF_INET : AF_INET6;
            if (rdlen != (af == AF_INET ? 4 : 16) ||
                !inet_ntop(af, rd, text, static_cast<socklen_t>(sizeof text)))
                return Error{"malformed address record"};
            rec.data = text;
            break;
        }
        case ns_t_mx:
            if (rdlen < 3 || !expand(rd + 2))
                return Error{"malformed MX record"};
            rec.preference = static_cast<std::uint16_t>(ns_get16(rd));
            rec.data = text;
            break;
        case ns_t_ns:
        case ns_t_cname:
        case ns_t_ptr:
            if (!expand(rd))
                return Error{"malformed name record"};
            rec.data = text;
            break;
        case ns_t_txt: // character-strings, joined (RFC 1035 3.3.14; RFC 7208 3.3)
            for (std::size_t at = 0, len = static_cast<std::size_t>(rdlen); at < len;) {
                const std::size_t n = rd[at];
                if (at + 1 + n > len)
                    return Error{"malformed TXT record"};
                rec.data.append(reinterpret_cast<const char*>(rd + at + 1), n);
                at += 1 + n;
            }
            break;
        case ns_t_soa: { // MNAME RNAME SERIAL ... (RFC 1035 3.3.13)
            const unsigned char* end = rd + rdlen;
            const int mname = dn_skipname(rd, end);
            const int rname = mname < 0 ? -1 : dn_skipname(rd + mname, end);
            if (rname < 0 || end - (rd + mname + rname) < 20 || !expand(rd))
                return Error{"malformed SOA record"};
            rec.data = text;
            rec.serial = static_cast<std::uint32_t>(ns_get32(rd + mname + rname));
            break;
        }
        default:
            break; // kept with its type and TTL only
        }
        r.answers.push_back(std::move(rec));
    }
    return r;
}

namespace {

std::uint16_t random_id() {
    static std::mt19937 rng{std::random_device{}()};
    return static_cast<std::uint16_t>(rng());
}

std::string failure_name(const boost::system::error_code& ec, bool timed_out) {
    if (timed_out)
        return "timeout";
    if (ec == asio::error::connection_refused)
        return "refused";
    if (ec == asio::error::host_unreachable || ec == asio::error::network_unreachable)
        return "unreachable";
    return "error";
}

template <class Socket>
asio::awaitable<std::vector<std::uint8_t>>
tcp_exchange(Socket& s, const asio::ip::tcp::endpoint& ep, const std::vector<std::uint8_t>& q,
             bool& sent) {
    co_await s.async_connect(ep, use_awaitable);
    sent = true; // connected: what follows is a DNS exchange the sensor sees
    std::vector<std::uint8_t> framed(q.size() + 2);
    framed[0] = static_cast<std::uint8_t>(q.size() >> 8);
    framed[1] = static_cast<std::uint8_t>(q.size());
    std::copy(q.begin(), q.end(), framed.begin() + 2);
    co_await asio::async_write(s, asio::buffer(framed), use_awaitable);
    std::uint8_t len[2];
    co_await asio::async_read(s, asio::buffer(len), use_awaitable);
    std::vector<std::uint8_t> reply(static_cast<std::size_t>(len[0] << 8 | len[1]));
    co_await asio::async_read(s, asio::buffer(reply), use_awaitable);
    co_return reply;
}

} // namespace

asio::awaitable<DnsReply> dns_exchange(std::string server, std::uint16_t port, std::string name,
                                       int type, bool tcp, double timeout_s, std::string device,
                                       bool recursion) {
    DnsReply out;
    const auto start = std::chrono::steady_clock::now();
    auto elapsed = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    boost::system::error_code ec;
    const auto addr = asio::ip::make_address(server, ec);
    const std::uint16_t id = random_id();
    auto query = build_dns_query(name, type, id, recursion);
    if (ec || !query) {
        out.failure = "error";
        co_return out;
    }
    auto ex = co_await asio::this_coro::executor;
    bool sent = false;
    try {
        if (tcp) {
            auto sock = std::make_shared<asio::ip::tcp::socket>(ex);
            Watchdog dog(ex, timeout_s, [sock] { sock->close(); });
            try {
                sock->open(addr.is_v4() ? asio::ip::tcp::v4() : asio::ip::tcp::v6());
                bind_to_device(*sock, device);
                auto bytes = co_await tcp_exchange(*sock, {addr, port}, *query, sent);
                auto r = parse_dns_reply(bytes.data(), bytes.size(), id, name, type);
                if (r) {
                    out = std::move(*r);
                } else {
                    out.failure = "error";
                }
            } catch (const boost::system::system_error& e) {
                out.failure = failure_name(e.code(), dog.fired());
            }
            out.sent = sent;
        } else {
            auto sock = std::make_shared<asio::ip::udp::socket>(ex);
            sock->open(addr.is_v4() ? asio::ip::udp::v4() : asio::ip::udp::v6());
            Watchdog dog(ex, timeout_s, [sock] { sock->close(); });
            try {
                bind_to_device(*sock, device);
                co_await sock->async_send_to(asio::buffer(*query), {addr, port}, use_awaitable);
                sent = true;
                std::vector<std::uint8_t> buf(65535);
                for (;;) { // skip stray datagrams: only the server's answer to this id counts
                    asio::ip::udp::endpoint from;
                    const auto n =
                        co_await sock->async_receive_from(asio::buffer(buf), from, use_awaitable);
                    if (from.address() != addr || from.port() != port)
                        continue;
                    if (auto r = parse_dns_reply(buf.data(), n, id, name, type)) {
                        out = std::move(*r);
                        break;
                    }
                }
            } catch (const boost::system::system_error& e) {
                out.failure = failure_name(e.code(), dog.fired());
            }
            out.sent = sent;
        }
    } catch (const std::exception&) {
        out.failure = "error";
    }
    out.seconds = elapsed();
    co_return out;
}

} // namespace mxs
