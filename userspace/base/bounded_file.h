// Files the agent reads on an operator's say-so (the configuration, the state file, the
// webhook's token, resolv.conf): regular files only, read whole up to a size limit.
//
// A configuration path that names /dev/zero, a FIFO or a directory must fail at once with a
// line that says so, not read gigabytes or wait for a writer that never comes. Symbolic links
// are followed (a configuration linked from /etc is normal); what they lead to must be a
// regular file. /proc and /sys are read elsewhere, as they are (not through this).
#pragma once

#include "base/result.h"

#include <cstddef>
#include <string>

namespace mxs {

// The limits, in bytes. A configuration of 1 MiB is some thousands of domains; the state file
// holds the failed-over domains with their MX order (at most a few hundred bytes each); a
// token is one line; a resolv.conf has a few nameserver lines (glibc uses the first three).
inline constexpr std::size_t kConfigFileLimit = 1 << 20;  // 1 MiB
inline constexpr std::size_t kStateFileLimit = 1 << 20;   // 1 MiB
inline constexpr std::size_t kTokenFileLimit = 4 << 10;   // 4 KiB
inline constexpr std::size_t kResolvConfLimit = 64 << 10; // 64 KiB
// A CA bundle: Debian's ca-certificates.crt is about 200 KiB.
inline constexpr std::size_t kCaFileLimit = 16 << 20; // 16 MiB

// What a file of mode st_mode is, for messages: "a regular file", "a FIFO", "a directory",
// "a character device", "a block device", "a socket", "a symbolic link".
const char* file_kind(unsigned st_mode);

// The whole content of the regular file at path (symbolic links followed), at most `limit`
// bytes. The file is checked (stat) before it is opened, so a device is never opened and a
// FIFO never waited on; it is opened O_RDONLY|O_NONBLOCK|O_NOCTTY|O_CLOEXEC and checked again
// (fstat: it must be the same regular file), and never more than limit + 1 bytes are read.
// Errors name the path: "PATH: cannot read it: No such file or directory", "PATH: not a
// regular file but a FIFO", "PATH: larger than the limit of 1048576 bytes". An error of the
// system carries its errno (error_code(): ENOENT when the file is not there, which some
// callers accept).
Result<std::string> read_bounded_file(const std::string& path, std::size_t limit);

} // namespace mxs
