// Attaching the programs to an interface. Links where the kernel offers them,
// so a crashed agent leaves nothing attached; the netlink TC fallback uses a
// fixed handle so the next start finds and replaces what a crash left.
#pragma once

#include "base/result.h"
#include "base/unique_fd.h"

#include <bpf/libbpf.h>
#include <cstdint>
#include <memory>
#include <string>

namespace mxs {

class XdpAttachment {
  public:
    // mode: auto (native, else generic) | native | generic
    static Result<std::unique_ptr<XdpAttachment>> attach(int prog_fd, int ifindex,
                                                         const std::string& mode);
    const std::string& mode() const { return mode_; }

  private:
    XdpAttachment(UniqueFd link, std::string mode)
        : link_(std::move(link)), mode_(std::move(mode)) {}
    UniqueFd link_;
    std::string mode_; // native | generic
};

class TcEgressAttachment {
  public:
    static Result<std::unique_ptr<TcEgressAttachment>> attach(int prog_fd, int ifindex);
    ~TcEgressAttachment();
    TcEgressAttachment(const TcEgressAttachment&) = delete;
    TcEgressAttachment& operator=(const TcEgressAttachment&) = delete;
    const std::string& mode() const { return mode_; }

  private:
    TcEgressAttachment(UniqueFd link, int ifindex, std::string mode)
        : link_(std::move(link)), ifindex_(ifindex), mode_(std::move(mode)) {}
    UniqueFd link_; // tcx link, or empty for netlink
    int ifindex_;
    std::string mode_; // tcx | netlink
};

// Handle and priority of the netlink TC filter ("mx", low priority number last).
inline constexpr std::uint32_t kTcHandle = 0x6d78;
inline constexpr std::uint32_t kTcPriority = 0xc0de;

} // namespace mxs
