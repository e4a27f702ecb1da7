#include "base/addr.h"

#include <arpa/inet.h>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace mxs {

std::string addr_to_string(const std::uint8_t (&addr)[16]) {
    static constexpr std::uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char buf[INET6_ADDRSTRLEN] = {};
    if (std::memcmp(addr, v4_prefix, sizeof(v4_prefix)) == 0)
        inet_ntop(AF_INET, addr + 12, buf, sizeof(buf));
    else
        inet_ntop(AF_INET6, addr, buf, sizeof(buf));
    return buf;
}

std::string addr_to_string(const std::array<std::uint8_t, 16>& addr) {
    std::uint8_t raw[16];
    std::memcpy(raw, addr.data(), 16);
    return addr_to_string(raw);
}

std::optional<ListenAddress> parse_listen(const std::string& text) {
    ListenAddress out;
    std::string port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return std::nullopt;
        out.host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        in6_addr a6;
        if (inet_pton(AF_INET6, out.host.c_str(), &a6) != 1)
            return std::nullopt;
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string::npos)
            return std::nullopt;
        out.host = text.substr(0, colon);
        port = text.substr(colon + 1);
        in_addr a4;
        if (inet_pton(AF_INET, out.host.c_str(), &a4) != 1)
            return std::nullopt;
    }
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || p != port.data() + port.size() || value == 0 || value > 65535)
        return std::nullopt;
    out.port = static_cast<std::uint16_t>(value);
    return out;
}

std::optional<std::string> default_route_interface() {
    // /proc/net/route: Iface Destination Gateway ... with Destination and Mask 0 for default.
    std::ifstream v4("/proc/net/route");
    std::string line;
    std::getline(v4, line); // header
    while (std::getline(v4, line)) {
        std::istringstream in(line);
        std::string iface, dest, gw, flags, refcnt, use, metric, mask;
        if (in >> iface >> dest >> gw >> flags >> refcnt >> use >> metric >> mask &&
            dest == "00000000" && mask == "00000000")
            return iface;
    }
    // /proc/net/ipv6_route: dest plen src plen nexthop metric refcnt use flags iface
    std::ifstream v6("/proc/net/ipv6_route");
    while (std::getline(v6, line)) {
        std::istringstream in(line);
        std::string dest, plen, src, splen, nh, metric, refcnt, use, flags, iface;
        if (in >> dest >> plen >> src >> splen >> nh >> metric >> refcnt >> use >> flags >> iface &&
            dest == std::string(32, '0') && plen == "00" && iface != "lo")
            return iface;
    }
    return std::nullopt;
}

} // namespace mxs
