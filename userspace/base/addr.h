// Address text forms and interface lookups.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace mxs {

// Canonical text of a 16-byte address; IPv4-mapped addresses print as dotted quads.
std::string addr_to_string(const std::uint8_t (&addr)[16]);
std::string addr_to_string(const std::array<std::uint8_t, 16>& addr);

struct ListenAddress {
    std::string host;
    std::uint16_t port = 0;
};

// "ADDR:PORT" or "[V6ADDR]:PORT"; nullopt when malformed.
std::optional<ListenAddress> parse_listen(const std::string& text);

// Name of the interface of the IPv4 (else IPv6) default route, from procfs.
std::optional<std::string> default_route_interface();

} // namespace mxs
