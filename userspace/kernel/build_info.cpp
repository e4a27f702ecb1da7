#include "kernel/build_info.h"

#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <sys/utsname.h>

#ifndef MXS_REVISION
#define MXS_REVISION "unknown"
#endif

namespace mxs {

BuildInfo build_info() {
    BuildInfo b;
    b.version = MXS_VERSION;
    b.revision = MXS_REVISION;
    // The shared library the dynamic linker found, not the headers built against: a host's
    // libbpf package may be newer than the build's.
    b.libbpf = fmt::format("{}.{}", libbpf_major_version(), libbpf_minor_version());
    utsname u{};
    b.kernel = uname(&u) == 0 ? u.release : "unknown";
    return b;
}

} // namespace mxs
