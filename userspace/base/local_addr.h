// Addresses the sensor cannot observe, and the resolvers judged by default.
//
// The kernel routes traffic to a loopback address (127.0.0.0/8, ::1) or to one of
// this host's own addresses over `lo`, never over a watched interface: the sensor
// sees none of it and a probe pinned to the watched interface (SO_BINDTODEVICE)
// cannot reach it there. Such a target is not judged (it stays UNKNOWN with a
// reason that says why) and never counts as DOWN.
#pragma once

#include "base/result.h"

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mxs {

// The canonical text of an IP address, as the kernel's per-server keys print it
// ("2001:db8::1", "198.18.0.1"; an IPv4-mapped IPv6 address as its dotted quad);
// a zone suffix ("fe80::1%eth0") is dropped. nullopt when the text is no address.
std::optional<std::string> canonical_address(const std::string& text);

// 127.0.0.0/8 or ::1 (canonical text).
bool is_loopback_address(const std::string& canonical);

// This host's own addresses, canonical (getifaddrs(3)); empty when it fails.
std::set<std::string> host_addresses();

// Why `addr` (canonical) cannot be judged on the watched interfaces `ifaces`
// ("eth0", "eth0, eth1"), e.g. "local address: its traffic does not cross eth0,
// not judged"; "" when it can be.
std::string unobservable_reason(const std::string& addr, const std::set<std::string>& own,
                                const std::string& ifaces);

// The nameserver lines of a resolv.conf(5) file, canonical, in order; none when the file is
// not there. An error when it exists but cannot be read (a regular file of at most
// kResolvConfLimit bytes, bounded_file.h).
Result<std::vector<std::string>> read_nameservers(const std::string& path);

// The DNS servers judged when `dns_servers` is not configured.
struct DefaultResolvers {
    std::vector<std::string> judged; // judged (and probed) as resolvers
    std::vector<std::string> lookup; // resolv.conf's own, for discovery's lookups (not pinned)
    std::string replaced;            // a log line when resolved's stub is replaced by its upstreams
    std::string left_out;            // a log line naming the local nameservers left out
    std::vector<std::string> unreadable; // a log line for each file there but not readable
};

// From resolv.conf: a nameserver that is loopback or this host's own address is
// not judged. systemd-resolved's stub (127.0.0.53, 127.0.0.54) is replaced by the
// upstream servers resolved lists in `resolved_conf`
// (/run/systemd/resolve/resolv.conf) when that file names any; any other local
// nameserver is left out. Each decision is one log line.
DefaultResolvers default_resolvers(const std::string& resolv_conf, const std::string& resolved_conf,
                                   const std::set<std::string>& own, const std::string& ifaces);

} // namespace mxs
