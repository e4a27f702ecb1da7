#include "kernel/libbpf_log.h"

#include <bpf/libbpf.h>
#include <cstdarg>
#include <cstdio>
#include <spdlog/spdlog.h>
#include <string>

namespace mxs {
namespace {

int quiet_depth = 0; // the agent is single-threaded

int print(enum libbpf_print_level level, const char* fmt, va_list args) {
    if (quiet_depth > 0)
        return 0;
    char buf[1024];
    std::vsnprintf(buf, sizeof(buf), fmt, args);
    std::string msg(buf);
    while (!msg.empty() && msg.back() == '\n')
        msg.pop_back();
    switch (level) {
    case LIBBPF_WARN:
        spdlog::warn("libbpf: {}", msg);
        break;
    case LIBBPF_INFO:
        spdlog::debug("libbpf: {}", msg);
        break;
    default:
        spdlog::trace("libbpf: {}", msg);
        break;
    }
    return 0;
}

} // namespace

void route_libbpf_logs() {
    libbpf_set_print(print);
}

LibbpfQuiet::LibbpfQuiet() {
    ++quiet_depth;
}
LibbpfQuiet::~LibbpfQuiet() {
    --quiet_depth;
}

} // namespace mxs
