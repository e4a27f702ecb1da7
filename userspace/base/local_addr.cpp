#include "base/local_addr.h"

#include "base/addr.h"
#include "base/bounded_file.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sstream>
#include <utility>

namespace mxs {

std::optional<std::string> canonical_address(const std::string& text) {
    const std::string a = text.substr(0, text.find('%'));
    std::uint8_t raw[16] = {};
    in_addr a4;
    in6_addr a6;
    if (inet_pton(AF_INET, a.c_str(), &a4) == 1) {
        raw[10] = raw[11] = 0xff;
        std::memcpy(raw + 12, &a4, 4);
    } else if (inet_pton(AF_INET6, a.c_str(), &a6) == 1) {
        std::memcpy(raw, &a6, 16);
    } else {
        return std::nullopt;
    }
    return addr_to_string(raw);
}

bool is_loopback_address(const std::string& canonical) {
    in_addr a4;
    if (inet_pton(AF_INET, canonical.c_str(), &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return canonical == "::1";
}

std::set<std::string> host_addresses() {
    std::set<std::string> out;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0)
        return out;
    for (auto* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr)
            continue;
        char buf[INET6_ADDRSTRLEN] = {};
        if (i->ifa_addr->sa_family == AF_INET)
            inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, buf,
                      sizeof buf);
        else if (i->ifa_addr->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr, buf,
                      sizeof buf);
        else
            continue;
        if (auto c = canonical_address(buf))
            out.insert(*c);
    }
    freeifaddrs(list);
    return out;
}

std::string unobservable_reason(const std::string& addr, const std::set<std::string>& own,
                                const std::string& ifaces) {
    if (is_loopback_address(addr))
        return fmt::format("loopback address: its traffic does not cross {}, not judged", ifaces);
    if (own.count(addr))
        return fmt::format("local address (this host's own): its traffic does not cross {}, not "
                           "judged",
                           ifaces);
    return {};
}

Result<std::vector<std::string>> read_nameservers(const std::string& path) {
    std::vector<std::string> out;
    auto text = read_bounded_file(path, kResolvConfLimit);
    if (!text) {
        if (text.error_code() == ENOENT)
            return out;
        return Error{text.error()};
    }
    std::istringstream in(*text);
    for (std::string line; std::getline(in, line);) {
        std::istringstream words(line);
        std::string key, addr;
        if (words >> key >> addr && key == "nameserver")
            if (auto c = canonical_address(addr);
                c && std::find(out.begin(), out.end(), *c) == out.end())
                out.push_back(*c);
    }
    return out;
}

DefaultResolvers default_resolvers(const std::string& resolv_conf, const std::string& resolved_conf,
                                   const std::set<std::string>& own, const std::string& ifaces) {
    DefaultResolvers out;
    if (auto r = read_nameservers(resolv_conf))
        out.lookup = std::move(*r);
    else
        out.unreadable.push_back(r.error());
    std::vector<std::string> stubs, local;
    for (const auto& a : out.lookup) {
        if (unobservable_reason(a, own, ifaces).empty()) {
            if (std::find(out.judged.begin(), out.judged.end(), a) == out.judged.end())
                out.judged.push_back(a);
        } else if (a == "127.0.0.53" || a == "127.0.0.54") {
            stubs.push_back(a);
        } else {
            local.push_back(a);
        }
    }
    if (!stubs.empty()) {
        std::vector<std::string> upstream;
        std::vector<std::string> forwarded;
        if (auto r = read_nameservers(resolved_conf))
            forwarded = std::move(*r);
        else
            out.unreadable.push_back(r.error());
        for (const auto& a : forwarded)
            if (unobservable_reason(a, own, ifaces).empty()) {
                upstream.push_back(a);
                if (std::find(out.judged.begin(), out.judged.end(), a) == out.judged.end())
                    out.judged.push_back(a);
            }
        if (upstream.empty())
            local.insert(local.end(), stubs.begin(), stubs.end());
        else
            out.replaced = fmt::format(
                "{}: nameserver {} is systemd-resolved's stub on this host; judging the servers "
                "it forwards to instead ({}): {}",
                resolv_conf, fmt::join(stubs, ", "), resolved_conf, fmt::join(upstream, ", "));
    }
    if (!local.empty())
        out.left_out = fmt::format(
            "{}: nameserver {} is on this host: its traffic does not cross {}, so it is not judged "
            "(list the servers it forwards to in dns_servers to judge them)",
            resolv_conf, fmt::join(local, ", "), ifaces);
    return out;
}

} // namespace mxs
