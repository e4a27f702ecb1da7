// Checks run before touching the kernel, each giving one clear line on failure.
#pragma once

#include "base/result.h"

namespace mxs {

// The kernel exposes its BTF (/sys/kernel/btf/vmlinux), which CO-RE relocations need.
Result<> check_btf();
// This process may load and attach the sensor: root, or CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN
// in its effective set.
Result<> check_privileges();

} // namespace mxs
