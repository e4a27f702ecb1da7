#include "base/privileges.h"

#include <algorithm>
#include <cap-ng.h>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace mxs {
namespace {

constexpr unsigned kMaxCap = 63; // capability numbers fit in the kernel's two 32-bit words

bool numeric(const std::string& s) {
    return !s.empty() && s.size() < 11 &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

bool have(capng_type_t set, unsigned cap) {
    return capng_have_capability(set, cap) == 1;
}

std::string os_error() {
    return std::strerror(errno);
}

} // namespace

Result<RunAs> resolve_run_as(const std::string& user, const std::string& group) {
    if (user.empty())
        return Error{"user: empty"};
    errno = 0;
    const passwd* pw =
        numeric(user) ? getpwuid(static_cast<uid_t>(std::stoul(user))) : getpwnam(user.c_str());
    if (!pw)
        return Error{errno ? fmt::format("user '{}': cannot look it up: {}", user, os_error())
                           : fmt::format("user '{}': no such user", user)};
    RunAs as{pw->pw_name, "", pw->pw_uid, pw->pw_gid};
    errno = 0;
    const struct group* gr = group.empty()    ? getgrgid(as.gid)
                             : numeric(group) ? getgrgid(static_cast<gid_t>(std::stoul(group)))
                                              : getgrnam(group.c_str());
    if (!gr) {
        if (group.empty()) // a primary group without an entry: its number will do
            as.group = std::to_string(as.gid);
        else
            return Error{errno ? fmt::format("group '{}': cannot look it up: {}", group, os_error())
                               : fmt::format("group '{}': no such group", group)};
    } else {
        as.group = gr->gr_name;
        as.gid = gr->gr_gid;
    }
    return as;
}

std::string capability_names(const std::vector<unsigned>& caps) {
    if (caps.empty())
        return "none";
    std::string out;
    for (unsigned c : caps) {
        const char* n = capng_capability_to_name(static_cast<unsigned>(c));
        std::string name = n ? n : std::to_string(c);
        for (auto& ch : name)
            ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        out += (out.empty() ? "CAP_" : ", CAP_") + name;
    }
    return out;
}

Result<DropReport> drop_privileges(const std::vector<unsigned>& keep,
                                   const std::optional<RunAs>& as) {
    // Capabilities and no_new_privs belong to a thread: every other thread would keep them.
    std::error_code ec;
    const auto tasks = std::distance(std::filesystem::directory_iterator("/proc/self/task", ec),
                                     std::filesystem::directory_iterator());
    if (!ec && tasks != 1)
        return Error{fmt::format("privileges: {} threads run; dropping capabilities needs the "
                                 "agent's only thread",
                                 tasks)};
    if (capng_get_caps_process() != 0)
        return Error{"privileges: cannot read this process's capabilities: " + os_error()};
    const bool setpcap = have(CAPNG_EFFECTIVE, CAP_SETPCAP);
    const bool switch_id = as && (as->uid != getuid() || as->uid != geteuid() ||
                                  as->gid != getgid() || as->gid != getegid());
    if (switch_id && !(have(CAPNG_EFFECTIVE, CAP_SETUID) && have(CAPNG_EFFECTIVE, CAP_SETGID)))
        return Error{fmt::format("user '{}': switching to uid {} needs root, or CAP_SETUID and "
                                 "CAP_SETGID (the agent runs as uid {})",
                                 as->user, as->uid, geteuid())};
    for (unsigned c : keep)
        if (!have(CAPNG_PERMITTED, c))
            return Error{fmt::format("privileges: {} is needed after attaching but not held",
                                     capability_names({c}))};

    capng_clear(CAPNG_SELECT_ALL); // effective, permitted, inheritable, bounding, ambient
    for (unsigned c : keep)
        if (capng_update(CAPNG_ADD, static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED),
                         c) != 0)
            return Error{fmt::format("privileges: cannot keep {}", capability_names({c}))};
    if (switch_id) {
        // Groups first, then the uid, with PR_SET_KEEPCAPS so `keep` survives the change.
        int flags = CAPNG_INIT_SUPP_GRP | CAPNG_CLEAR_AMBIENT;
        if (setpcap)
            flags |= CAPNG_CLEAR_BOUNDING;
        if (const int rc = capng_change_id(static_cast<int>(as->uid), static_cast<int>(as->gid),
                                           static_cast<capng_flags_t>(flags));
            rc != 0)
            return Error{fmt::format("user '{}': cannot switch to uid {} gid {} (capng_change_id "
                                     "step {}): {}",
                                     as->user, as->uid, as->gid, -rc, os_error())};
    } else {
        if (setpcap && capng_apply(CAPNG_SELECT_BOUNDS) != 0)
            return Error{"privileges: cannot clear the bounding set: " + os_error()};
        if (capng_apply(CAPNG_SELECT_CAPS) != 0)
            return Error{"privileges: cannot drop capabilities: " + os_error()};
    }
    if (capng_apply(CAPNG_SELECT_AMBIENT) != 0)
        return Error{"privileges: cannot clear the ambient set: " + os_error()};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return Error{"privileges: cannot set no_new_privs: " + os_error()};

    // What the kernel says now, not what was asked for.
    if (capng_get_caps_process() != 0)
        return Error{"privileges: cannot read this process's capabilities: " + os_error()};
    DropReport r{{}, setpcap, getuid(), getgid()};
    for (unsigned c = 0; c <= kMaxCap; ++c) {
        const bool kept = std::find(keep.begin(), keep.end(), c) != keep.end();
        if (have(CAPNG_PERMITTED, c) != kept || have(CAPNG_EFFECTIVE, c) != kept ||
            have(CAPNG_INHERITABLE, c))
            return Error{
                fmt::format("privileges: {} is still held after the drop", capability_names({c}))};
        if (kept)
            r.kept.push_back(c);
    }
    if (switch_id && (geteuid() != as->uid || getegid() != as->gid))
        return Error{fmt::format("user '{}': still uid {} gid {} after the switch", as->user,
                                 geteuid(), getegid())};
    return r;
}

int drop_all_privileges_for_exec() noexcept {
    for (unsigned long c = 0; c <= kMaxCap; ++c)
        prctl(PR_CAPBSET_DROP, c, 0, 0, 0); // EINVAL past the last one, EPERM without SETPCAP
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        return -1;
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = {};
    if (syscall(SYS_capset, &hdr, none) != 0)
        return -1;
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 ? 0 : -1;
}

} // namespace mxs
