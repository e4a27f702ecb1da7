#include "libbpf_log.h"

#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <string>

namespace mxs {
namespace {

int print(enum libbpf_print_level level, const char* fmt, va_list args) {
    char buf[1024];
    std::vsnprintf(buf, sizeof(buf), fmt, args);
    std::string msg(buf);
    while (!msg.empty() && msg.back() == '\n')
        msg.pop_back();
    switch (level) {
    case LIBBPF_WARN: spdlog::warn("libbpf: {}", msg); break;
    case LIBBPF_INFO: spdlog::debug("libbpf: {}", msg); break;
    default: spdlog::trace("libbpf: {}", msg); break;
    }
    return 0;
}

} // namespace

void route_libbpf_logs() { libbpf_set_print(print); }

} // namespace mxs
