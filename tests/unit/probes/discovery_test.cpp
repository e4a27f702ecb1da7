// Discovery's rounds counted by domain and result (mxsense_discovery_lookups_total), against a
// resolver on a loopback socket that answers each domain its own way: the question echoed with
// QR and an rcode set and no records, or nothing at all.
#include "probes/discovery.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace mxs {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;

// The first label of the question (offset 12: one length byte, then the label).
std::string first_label(const std::uint8_t* m, std::size_t n) {
    if (n < 13 || 13u + m[12] > n)
        return {};
    return {reinterpret_cast<const char*>(m) + 13, m[12]};
}

TEST(Discovery, CountsEachDomainsRoundsByResult) {
    asio::io_context io;
    udp::socket server(io, {asio::ip::make_address("127.0.0.1"), 0});
    const std::map<std::string, int> rcode = {
        {"ok", 0}, {"nx", 3}, {"servfail", 2}, {"refused", 5}, {"notimp", 4}};
    std::array<std::uint8_t, 512> buf{};
    udp::endpoint from;
    std::function<void()> serve = [&] {
        server.async_receive_from(
            asio::buffer(buf), from, [&](const boost::system::error_code& ec, std::size_t n) {
                if (ec)
                    return;
                const auto it = rcode.find(first_label(buf.data(), n));
                if (it != rcode.end()) { // "silent": no answer
                    std::vector<std::uint8_t> answer(buf.begin(), buf.begin() + n);
                    answer[2] |= 0x80;                                        // QR
                    answer[3] = static_cast<std::uint8_t>(0x80 | it->second); // RA, rcode
                    boost::system::error_code ignored;
                    server.send_to(asio::buffer(answer), from, 0, ignored);
                }
                serve();
            });
    };
    serve();

    DiscoveryOptions opts;
    opts.retry_s = 0.3; // a failed round again after 0.3 s; a good one after an hour
    Discovery::Counts counts;
    auto discovery = std::make_shared<Discovery>(io, opts, std::vector<std::string>{"127.0.0.1"},
                                                 0.2, server.local_endpoint().port(), &counts);
    std::vector<Domain> domains;
    for (const char* d : {"ok", "nx", "servfail", "refused", "notimp", "silent"})
        domains.push_back(Domain{std::string(d) + ".test", {}, true, false});
    discovery->start(domains, nullptr);
    asio::steady_timer end(io);
    end.expires_after(std::chrono::milliseconds(1500));
    end.async_wait([&](const boost::system::error_code&) {
        discovery->stop();
        server.close();
    });
    io.run();

    // NOERROR without records: no MX, the domain itself (and no address) -- a good round.
    const std::map<std::string, std::string> expected = {
        {"ok.test", "ok"},           {"nx.test", "nxdomain"},  {"servfail.test", "servfail"},
        {"refused.test", "refused"}, {"notimp.test", "error"}, {"silent.test", "timeout"}};
    const std::vector<std::string> results = {"ok",      "nxdomain",    "servfail", "refused",
                                              "timeout", "unreachable", "error"};
    for (const auto& [domain, result] : expected)
        for (const auto& r : results) {
            const auto it = counts.find({domain, r});
            ASSERT_NE(it, counts.end()) << domain << " " << r; // every result from the start
            if (r != result)
                EXPECT_EQ(it->second, 0u) << domain << " " << r;
            else if (r == "ok")
                EXPECT_EQ(it->second, 1u) << domain; // the next one after the TTL clamp: 1 h
            else // retried every 0.3 s for 1.5 s (a timeout takes 0.2 s of it)
                EXPECT_GE(it->second, 2u) << domain << " " << r;
        }
    EXPECT_EQ(counts.size(), expected.size() * results.size());
}

} // namespace
} // namespace mxs
