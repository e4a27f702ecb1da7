// A small asynchronous DNS client for probes and MX/NS discovery: the transport (UDP, or TCP
// with its length prefix); the messages are in dns_message.h.
#pragma once

#include "probes/coro.h"
#include "probes/dns_message.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mxs {

// One exchange with server (an IP address), bounded by timeout_s, out of
// `device` when given (else as routed). Never throws.
boost::asio::awaitable<DnsReply> dns_exchange(std::string server, std::uint16_t port,
                                              std::string name, int type, bool tcp,
                                              double timeout_s, std::string device = {},
                                              bool recursion = true);

} // namespace mxs
