#include "kernel/attach.h"

#include "kernel/libbpf_log.h"

#include <bpf/bpf.h>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <spdlog/spdlog.h>

namespace mxs {
namespace {

// From linux/bpf.h of kernels >= 6.6; Debian 12's UAPI headers predate them.
constexpr int kBpfTcxEgress = 47;

std::string ifname(int ifindex) {
    char buf[IF_NAMESIZE] = {};
    return if_indextoname(ifindex, buf) ? buf : fmt::format("ifindex {}", ifindex);
}

// A netlink-attached XDP program named like ours is a leftover: replace it.
bool remove_stale_xdp(int ifindex) {
    bpf_xdp_query_opts q{};
    q.sz = sizeof(q);
    if (bpf_xdp_query(ifindex, 0, &q) != 0 || q.prog_id == 0)
        return false;
    UniqueFd fd(bpf_prog_get_fd_by_id(q.prog_id));
    bpf_prog_info info{};
    __u32 len = sizeof(info);
    if (fd.get() < 0 || bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0 ||
        std::strcmp(info.name, "mxs_xdp") != 0)
        return false;
    const __u32 flags = q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
    if (bpf_xdp_detach(ifindex, flags, nullptr) != 0)
        return false;
    spdlog::warn("removed a stale mxsense XDP program from {}", ifname(ifindex));
    return true;
}

bpf_tc_hook egress_hook(int ifindex) {
    bpf_tc_hook hook{};
    hook.sz = sizeof(hook);
    hook.ifindex = ifindex;
    hook.attach_point = BPF_TC_EGRESS;
    return hook;
}

// Our netlink filter: fixed handle and priority, so a later start can find it.
bpf_tc_opts our_filter(int prog_fd = 0) {
    bpf_tc_opts opts{};
    opts.sz = sizeof(opts);
    opts.prog_fd = prog_fd;
    opts.handle = kTcHandle;
    opts.priority = kTcPriority;
    return opts;
}

int xdp_link(int prog_fd, int ifindex, __u32 flags) {
    bpf_link_create_opts opts{};
    opts.sz = sizeof(opts);
    opts.flags = flags;
    return bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);
}

} // namespace

Result<std::unique_ptr<XdpAttachment>> XdpAttachment::attach(int prog_fd, int ifindex,
                                                             const std::string& mode) {
    const bool try_native = mode != "generic";
    const bool try_generic = mode != "native";
    int err = 0;
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (try_native) {
            int fd = xdp_link(prog_fd, ifindex, XDP_FLAGS_DRV_MODE);
            if (fd >= 0)
                return std::unique_ptr<XdpAttachment>(new XdpAttachment(UniqueFd(fd), "native"));
            err = errno;
            spdlog::debug("native XDP on {}: {}", ifname(ifindex), std::strerror(err));
        }
        if (try_generic) {
            int fd = xdp_link(prog_fd, ifindex, XDP_FLAGS_SKB_MODE);
            if (fd >= 0)
                return std::unique_ptr<XdpAttachment>(new XdpAttachment(UniqueFd(fd), "generic"));
            err = errno;
        }
        if ((err != EBUSY && err != EEXIST) || !remove_stale_xdp(ifindex))
            break;
    }
    return Error{
        fmt::format("cannot attach XDP ({}) to {}: {}", mode, ifname(ifindex), std::strerror(err))};
}

Result<std::unique_ptr<TcEgressAttachment>> TcEgressAttachment::attach(int prog_fd, int ifindex) {
    // A leftover netlink filter of ours would run twice next to the tcx link.
    bpf_tc_hook hook = egress_hook(ifindex);
    bpf_tc_opts stale = our_filter();
    bool removed;
    {
        LibbpfQuiet quiet; // no clsact qdisc, or no filter of ours: the usual case
        removed = bpf_tc_detach(&hook, &stale) == 0;
    }
    if (removed)
        spdlog::warn("removed a stale mxsense TC filter from {}", ifname(ifindex));

    int fd =
        bpf_link_create(prog_fd, ifindex, static_cast<bpf_attach_type>(kBpfTcxEgress), nullptr);
    if (fd >= 0)
        return std::unique_ptr<TcEgressAttachment>(
            new TcEgressAttachment(UniqueFd(fd), ifindex, "tcx"));
    spdlog::debug("tcx link on {}: {}; using a netlink clsact filter", ifname(ifindex),
                  std::strerror(errno));

    int err = bpf_tc_hook_create(&hook);
    if (err && err != -EEXIST)
        return Error{fmt::format("cannot create the clsact qdisc on {}: {}", ifname(ifindex),
                                 std::strerror(-err))};
    bpf_tc_opts opts = our_filter(prog_fd);
    opts.flags = BPF_TC_F_REPLACE;
    err = bpf_tc_attach(&hook, &opts);
    if (err)
        return Error{
            fmt::format("cannot attach TC egress to {}: {}", ifname(ifindex), std::strerror(-err))};
    return std::unique_ptr<TcEgressAttachment>(
        new TcEgressAttachment(UniqueFd(), ifindex, "netlink"));
}

TcEgressAttachment::~TcEgressAttachment() {
    if (mode_ != "netlink")
        return; // closing the link detaches
    bpf_tc_hook hook = egress_hook(ifindex_);
    bpf_tc_opts opts = our_filter();
    bpf_tc_detach(&hook, &opts);
}

} // namespace mxs
