// Least privilege (issue 12): what the agent keeps once the sensor is attached, whom it
// runs as, and what its hooks get.
//
// Measured on Linux 6.18 (README "Privileges"): reading, updating and iterating maps
// through descriptors the agent holds, BPF_PROG_TEST_RUN of its syscall program,
// SO_BINDTODEVICE on a fresh socket (the probes), closing XDP and tcx links (detach) need
// no capability. Only removing a netlink clsact filter (TC egress on kernels before 6.6)
// needs CAP_NET_ADMIN.
#pragma once

#include "base/result.h"

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace mxs {

// The account the agent switches to after attaching (`user:` / `group:`, --user / --group).
struct RunAs {
    std::string user;  // its name, for logs and supplementary groups
    std::string group; // the group's name (the user's primary group when none was given)
    uid_t uid = 0;
    gid_t gid = 0;
};

// Resolves user (a name or a numeric id that has a passwd entry) and group (a name or id;
// empty: the user's primary group). Errors name the field: "user 'x': no such user",
// "group 'y': no such group".
Result<RunAs> resolve_run_as(const std::string& user, const std::string& group);

// What drop_privileges() left.
struct DropReport {
    std::vector<unsigned> kept; // capabilities still effective and permitted
    bool bounding_cleared;      // false: no CAP_SETPCAP, the bounding set stays as it was
    uid_t uid;                  // the real, effective and saved uid afterwards
    gid_t gid;
};

// Keeps only `keep` (capability numbers, e.g. CAP_NET_ADMIN) in the effective and permitted
// sets; clears the inheritable and ambient sets and the bounding set (all of it; needs
// CAP_SETPCAP, else it is left as it is and the report says so); switches to `as` if given
// and not already that account (setresgid, the user's supplementary groups, setresuid,
// keeping `keep` across the change: libcap-ng's capng_change_id); then sets
// PR_SET_NO_NEW_PRIVS, so nothing it executes can gain a capability. Switching to another
// account needs CAP_SETUID and CAP_SETGID. The process must have one thread (capabilities are
// per thread). Errors: one line naming the step.
Result<DropReport> drop_privileges(const std::vector<unsigned>& keep,
                                   const std::optional<RunAs>& as);

// "none" or "CAP_NET_ADMIN, ..." (libcap-ng's names, upper-cased).
std::string capability_names(const std::vector<unsigned>& caps);

// For a forked child just before execve: no capability in any set (effective, permitted,
// inheritable, ambient; the bounding set as far as CAP_SETPCAP allows) and
// PR_SET_NO_NEW_PRIVS. Async-signal-safe (prctl and capset system calls only). 0, or -1
// when a set could not be cleared (the child must then not execute anything).
int drop_all_privileges_for_exec() noexcept;

} // namespace mxs
