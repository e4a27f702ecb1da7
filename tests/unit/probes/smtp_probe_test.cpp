// The SMTP probe against hostile servers on loopback (a thread of the test serves them).
#include "probes/smtp_probe.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>
#include <thread>

namespace mxs {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// A server that answers the connection with `reply` bytes, forever (until `limit` bytes or the
// client closes), never a line end: what the probe holds of it must stay bounded.
TEST(SmtpProbe, AReplyWithoutLineEndIsBounded) {
    asio::io_context server_io;
    tcp::acceptor acceptor(server_io, {asio::ip::make_address("127.0.0.1"), 0});
    const auto port = acceptor.local_endpoint().port();
    std::size_t sent = 0;
    std::thread server([&] {
        tcp::socket s(server_io);
        acceptor.accept(s);
        const std::string chunk = "220 " + std::string(65536, 'x');
        boost::system::error_code ec;
        while (!ec && sent < (64u << 20)) // 64 MiB at most, bounded in count
            sent += asio::write(s, asio::buffer(chunk), ec);
    });
    asio::io_context io;
    SmtpProbeSpec spec;
    spec.address = "127.0.0.1";
    spec.port = port;
    spec.ehlo_name = "probe.test";
    spec.timeout_s = 10;
    auto f = asio::co_spawn(io, smtp_probe(spec), asio::use_future);
    io.run();
    const auto r = f.get();
    server.join();
    EXPECT_EQ(r.result, "error");
    EXPECT_EQ(r.step, "greeting");
    EXPECT_EQ(r.detail, "greeting: no line end within 65536 bytes of reply");
    EXPECT_LT(r.seconds, 5) << "read until the timeout: unbounded";
    EXPECT_LT(sent, 64u << 20) << "the probe took all the server sent";
}

} // namespace
} // namespace mxs
