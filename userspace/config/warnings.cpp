// Warnings about a valid configuration: what it asks may not do what the operator meant, or
// names what this host does not have now (an interface, a hook's program) but may have later
// (configuration management writes the file before it installs the rest).
#include "base/bounded_file.h"
#include "base/privileges.h"
#include "base/shown.h"
#include "config/validate.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <grp.h>
#include <map>
#include <net/if.h>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace mxs {
namespace {

// Whether the file's mode lets `as` execute it (the permission bits alone, as exec(2) reads
// them for a user without capabilities: the owner's, else the group's, else the others').
bool executable_by(const struct stat& st, const RunAs& as) {
    if (st.st_uid == as.uid)
        return st.st_mode & S_IXUSR;
    int n = 64;
    std::vector<gid_t> groups(static_cast<std::size_t>(n));
    if (::getgrouplist(as.user.c_str(), as.gid, groups.data(), &n) < 0) {
        groups.resize(static_cast<std::size_t>(n));
        ::getgrouplist(as.user.c_str(), as.gid, groups.data(), &n);
    }
    groups.resize(static_cast<std::size_t>(std::max(n, 0)));
    groups.push_back(as.gid);
    if (std::find(groups.begin(), groups.end(), st.st_gid) != groups.end())
        return st.st_mode & S_IXGRP;
    return st.st_mode & S_IXOTH;
}

// Why the program at `path` cannot be run now, or "" when it can: the system's reason
// (strerror) when it cannot be found, not a regular file, or not executable for this process;
// with `as` (the agent's `user:`, who runs the hooks) its permission bits for that user.
std::string cannot_run(const std::string& path, const std::optional<RunAs>& as) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return std::strerror(errno);
    if (!S_ISREG(st.st_mode))
        return fmt::format("not a regular file but {}", file_kind(st.st_mode));
    // access() decides as exec(2) would for this process's user (root: some x bit set).
    if (::access(path.c_str(), X_OK) != 0)
        return std::strerror(errno);
    if (as && as->uid != 0 && !executable_by(st, *as))
        return fmt::format("not executable by user {} (mode {:04o}, owner {}:{})", shown(as->user),
                           st.st_mode & 07777, st.st_uid, st.st_gid);
    return {};
}

} // namespace

std::string ConfigWarning::text() const {
    return where.empty() ? message : fmt::format("{}: {}", where, message);
}

std::vector<ConfigWarning> config_warnings(const AgentOptions& o, const Origins& at) {
    std::vector<ConfigWarning> out;
    auto warn = [&](const std::string& field, const std::string& reason) {
        out.push_back({at.prefix(field), printable(fmt::format("{}: {}", field, reason))});
    };
    for (std::size_t i = 0; i < o.interfaces.size(); ++i)
        if (::if_nametoindex(o.interfaces[i].c_str()) == 0)
            warn(fmt::format("interfaces[{}]", i),
                 fmt::format("{}: no such interface on this host now (the agent does not start "
                             "without it)",
                             shown(o.interfaces[i])));
    std::optional<RunAs> as;
    if (!o.user.empty())
        if (auto r = resolve_run_as(o.user, o.group))
            as = *r;
    for (std::size_t i = 0; i < o.hooks.size(); ++i) {
        const auto& h = o.hooks[i];
        if (h.argv.empty())
            continue; // validate() refuses it
        if (auto why = cannot_run(h.argv[0], as); !why.empty())
            warn(fmt::format("hooks[{}].argv[0]", i),
                 fmt::format("hook {}: cannot run {}: {} (each run fails until it can)",
                             shown(h.name), shown(h.argv[0]), why));
    }
    for (std::size_t i = 0; i < o.domains.size(); ++i) {
        const auto& d = o.domains[i];
        std::map<std::string, std::string> owner; // address -> the first host with it
        for (std::size_t j = 0; j < d.mx.size(); ++j)
            for (std::size_t k = 0; k < d.mx[j].addresses.size(); ++k) {
                const auto& m = d.mx[j];
                const auto& a = m.addresses[k];
                if (auto [it, fresh] = owner.emplace(a, m.host); !fresh && it->second != m.host)
                    warn(fmt::format("domains[{}].mx[{}].addresses[{}]", i, j, k),
                         fmt::format("MX hosts {} and {} of {} share the address {}: they are "
                                     "judged alike, and a failover between them cannot help",
                                     it->second, m.host, d.name, a));
            }
    }
    // Without dns_servers the judged resolvers come from resolv.conf on the agent's host,
    // and with an authoritative domain from DNS: the agent warns then, once it knows.
    const bool auth = std::any_of(o.domains.begin(), o.domains.end(),
                                  [](const Domain& d) { return d.authoritative; });
    if (!o.dns_servers.empty() && !auth)
        for (std::size_t i = 0; i < o.probes.targets.size(); ++i) {
            const auto& t = o.probes.targets[i];
            if (std::find(o.dns_servers.begin(), o.dns_servers.end(), t.address) ==
                o.dns_servers.end())
                warn(fmt::format("probes.targets[{}].address", i),
                     fmt::format("{}: not a judged DNS server (not in dns_servers, and no domain "
                                 "is authoritative): the entry has no effect",
                                 t.address));
        }
    return out;
}

} // namespace mxs
