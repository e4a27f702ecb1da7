// Probes leave through the watched interface (SO_BINDTODEVICE), so the kernel
// sensor sees them whatever the routing table prefers.
#pragma once

#include <boost/system/system_error.hpp>
#include <cerrno>
#include <string>
#include <sys/socket.h>

namespace mxs {

// The socket must be open; an empty name leaves it to routing.
template <class Socket> void bind_to_device(Socket& s, const std::string& device) {
    if (device.empty())
        return;
    if (setsockopt(s.native_handle(), SOL_SOCKET, SO_BINDTODEVICE, device.c_str(),
                   static_cast<socklen_t>(device.size())) != 0)
        throw boost::system::system_error(errno, boost::system::system_category(),
                                          "SO_BINDTODEVICE " + device);
}

} // namespace mxs
