// What the running agent is built from and runs on: mxsense_build_info's labels.
#pragma once

#include <string>

namespace mxs {

/// The agent's build and what it runs on, as mxsense_build_info{version,revision,libbpf,kernel}
/// shows them.
struct BuildInfo {
    std::string version;  // the CMake project version ("0.1.0")
    std::string revision; // `git describe --always --dirty` at configure time, MXS_REVISION
                          // when given (a package build), "unknown" outside a git tree
    std::string libbpf;   // the libbpf loaded at run time, MAJOR.MINOR (libbpf_major_version())
    std::string kernel;   // uname(2) release ("6.1.0-18-amd64"); "unknown" if uname fails
};

/// This build's BuildInfo, the kernel's release read now. Never fails.
BuildInfo build_info();

} // namespace mxs
