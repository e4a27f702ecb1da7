#include "kernel/preflight.h"

#include <cstdint>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace mxs {
namespace {

constexpr int kCapNetAdmin = 12;
constexpr int kCapSysAdmin = 21;
constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;

std::uint64_t effective_caps() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("CapEff:", 0) == 0)
            return std::stoull(line.substr(7), nullptr, 16);
    return 0;
}

} // namespace

Result<> check_btf() {
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
        return Error{"this kernel exposes no BTF (/sys/kernel/btf/vmlinux): mxsense needs a "
                     "kernel built with CONFIG_DEBUG_INFO_BTF=y"};
    return {};
}

Result<> check_privileges() {
    const std::uint64_t caps = effective_caps();
    auto has = [caps](int c) { return (caps >> c) & 1; };
    const bool bpf = has(kCapSysAdmin) || (has(kCapBpf) && has(kCapPerfmon));
    if (bpf && has(kCapNetAdmin))
        return {};
    return Error{"insufficient privileges: loading and attaching the sensor needs root, or "
                 "CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN"};
}

} // namespace mxs
