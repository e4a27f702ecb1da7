// The agent's state file: which domains are failed over, across restarts.
#include "agent.h"
#include "bounded_file.h"
#include "privileges.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mxs {

namespace {

// Why the state file at path must be neither trusted nor written, or "": it is a symbolic
// link (whoever planted it would choose which file the agent, as root or its user, replaces),
// it belongs to another user than root or `agent` (the agent's account: the one it runs as,
// or switches to), or its directory does, or the directory is group- or world-writable without
// the sticky bit: another user could plant a file there (a failover that never happened, so a
// failback hook runs) or a link. A sticky directory such as /tmp is accepted: a file planted
// there is the planter's, and refused by its owner. (The write itself never follows a link:
// the new file is renamed over the name.)
std::string unsafe_state_file(const std::string& path, uid_t agent) {
    const auto foreign = [agent](uid_t u) { return u != 0 && u != agent; };
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (S_ISLNK(st.st_mode))
            return fmt::format("{}: a symbolic link; name the file itself", path);
        if (foreign(st.st_uid))
            return fmt::format("{}: belongs to uid {}, neither root nor the agent's user (uid "
                               "{}): another user may have written it",
                               path, st.st_uid, agent);
    }
    std::string dir = std::filesystem::path(path).parent_path().string();
    if (dir.empty())
        dir = ".";
    if (::stat(dir.c_str(), &st) != 0)
        return ""; // not there yet: made by the agent (create_directories, its own)
    if (foreign(st.st_uid))
        return fmt::format("{}: its directory {} belongs to uid {}, neither root nor the "
                           "agent's user (uid {}): its owner can replace the file",
                           path, dir, st.st_uid, agent);
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
        return fmt::format("{}: its directory {} is writable by others (mode {:o}, no sticky "
                           "bit)",
                           path, dir, st.st_mode & 07777);
    return "";
}

// Writes text to path as a new file: path + ".tmp" is created (O_EXCL: whatever was there is
// removed first, never opened, so a FIFO or a link planted there is not written through),
// synced, then renamed over path, so a crash leaves the old state or the new, never a part.
// An existing path must be a regular file, not a symbolic link, in a directory no other user
// can write (unsafe_state_file). Returns what went wrong, or "" when written.
std::string write_atomically(const std::string& path, const std::string& text) {
    if (auto why = unsafe_state_file(path, ::geteuid()); !why.empty()) // after any user switch
        return why + "; not written";
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        return fmt::format("{}: not a regular file but {}; not replaced", path,
                           file_kind(st.st_mode));
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    const auto tmp = path + ".tmp";
    if (::unlink(tmp.c_str()) != 0 && errno != ENOENT)
        return fmt::format("{}: cannot remove it: {}", tmp, std::strerror(errno));
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return fmt::format("{}: cannot create it: {}", tmp, std::strerror(errno));
    std::string err;
    for (std::size_t done = 0; done < text.size() && err.empty();) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno != EINTR)
            err = fmt::format("{}: cannot write it: {}", tmp, std::strerror(errno));
        else if (n > 0)
            done += static_cast<std::size_t>(n);
    }
    if (err.empty() && ::fsync(fd) != 0)
        err = fmt::format("{}: cannot sync it: {}", tmp, std::strerror(errno));
    if (::close(fd) != 0 && err.empty())
        err = fmt::format("{}: cannot close it: {}", tmp, std::strerror(errno));
    if (err.empty() && ::rename(tmp.c_str(), path.c_str()) != 0)
        err = fmt::format("{}: cannot rename {} to it: {}", path, tmp, std::strerror(errno));
    if (!err.empty())
        ::unlink(tmp.c_str());
    return err;
}

} // namespace

// The state file: {"failed_over": {DOMAIN: {"to": MX, "order": [MX, ...]}}}.
// A missing file is a first start; an unreadable one (not a regular file, larger than
// kStateFileLimit, not this JSON) is logged and ignored: the agent starts without it.
void Agent::load_state() {
    if (opts_.state_file.empty())
        return;
    // Read before the switch to `user:` (if any): that account's files are the agent's own.
    uid_t agent = ::geteuid();
    if (!opts_.user.empty())
        if (auto as = resolve_run_as(opts_.user, opts_.group))
            agent = as->uid;
    if (auto why = unsafe_state_file(opts_.state_file, agent); !why.empty()) {
        spdlog::error("state_file {}; ignored: failovers from before this start are not "
                      "restored, and it is not written",
                      why);
        return;
    }
    bool missing = false;
    auto text = read_bounded_file(opts_.state_file, kStateFileLimit, &missing);
    if (!text) {
        if (!missing)
            spdlog::error("state_file {}; ignored: failovers from before this start are not "
                          "restored",
                          text.error());
        return;
    }
    try {
        const auto j = nlohmann::json::parse(*text);
        for (const auto& [name, d] : j.at("failed_over").items())
            failed_over_[name] = {d.at("to").get<std::string>(),
                                  d.at("order").get<std::vector<std::string>>()};
        saved_state_ = j.dump();
        if (!failed_over_.empty())
            spdlog::info("state {}: {} domain(s) failed over before this start", opts_.state_file,
                         failed_over_.size());
    } catch (const std::exception& e) {
        failed_over_.clear();
        spdlog::error("state {}: unreadable, ignored ({})", opts_.state_file, e.what());
    }
}

// Writes the failed-over domains when they change (write_atomically).
void Agent::save_state() {
    nlohmann::json domains = nlohmann::json::object();
    std::map<std::string, FailedOver> now;
    for (const auto& d : health_->domains()) {
        if (!d.failover_active)
            continue;
        // Not discovered again yet since the start: the remembered order stands.
        const auto before = failed_over_.find(d.name);
        auto order = d.mx.empty() && before != failed_over_.end() ? before->second.order : d.mx;
        domains[d.name] = {{"to", d.failed_over_to}, {"order", order}};
        now[d.name] = {d.failed_over_to, std::move(order)};
    }
    failed_over_ = std::move(now);
    const auto text = nlohmann::json{{"failed_over", domains}}.dump();
    if (opts_.state_file.empty() || text == saved_state_)
        return;
    if (auto err = write_atomically(opts_.state_file, text + "\n"); !err.empty()) {
        // Tried again every window while the state differs; logged when the reason changes.
        if (err != state_error_)
            spdlog::error("state_file {}; failovers are not kept across a restart", err);
        state_error_ = std::move(err);
        return;
    }
    state_error_.clear();
    saved_state_ = text;
}

} // namespace mxs
