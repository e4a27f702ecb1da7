#include "health/failover_store.h"

#include "base/bounded_file.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mxs {

namespace {

// Whether the state file at path may be trusted and written; the error says why not: it is a
// symbolic link (whoever planted it would choose which file the agent, as root or its user,
// replaces), it belongs to another user than root or `agent` (the agent's account: the one it runs
// as, or switches to), or its directory does, or the directory is group- or world-writable without
// the sticky bit: another user could plant a file there (a failover that never happened, so a
// failback hook runs) or a link. A sticky directory such as /tmp is accepted: a file planted
// there is the planter's, and refused by its owner. (The write itself never follows a link:
// the new file is renamed over the name.)
Result<> check_state_file(const std::string& path, uid_t agent) {
    const auto foreign = [agent](uid_t u) { return u != 0 && u != agent; };
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (S_ISLNK(st.st_mode))
            return Error{fmt::format("{}: a symbolic link; name the file itself", path)};
        if (foreign(st.st_uid))
            return Error{
                fmt::format("{}: belongs to uid {}, neither root nor the agent's user (uid "
                            "{}): another user may have written it",
                            path, st.st_uid, agent)};
    }
    std::string dir = std::filesystem::path(path).parent_path().string();
    if (dir.empty())
        dir = ".";
    if (::stat(dir.c_str(), &st) != 0)
        return {}; // not there yet: made by the agent (create_directories, its own)
    if (foreign(st.st_uid))
        return Error{fmt::format("{}: its directory {} belongs to uid {}, neither root nor the "
                                 "agent's user (uid {}): its owner can replace the file",
                                 path, dir, st.st_uid, agent)};
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
        return Error{fmt::format("{}: its directory {} is writable by others (mode {:o}, no sticky "
                                 "bit)",
                                 path, dir, st.st_mode & 07777)};
    return {};
}

// Writes text to path as a new file: path + ".tmp" is created (O_EXCL: whatever was there is
// removed first, never opened, so a FIFO or a link planted there is not written through),
// synced, then renamed over path, so a crash leaves the old state or the new, never a part.
// An existing path must be a regular file, not a symbolic link, in a directory no other user
// can write (check_state_file).
Result<> write_atomically(const std::string& path, const std::string& text) {
    if (auto safe = check_state_file(path, ::geteuid()); !safe) // after any user switch
        return Error{safe.error() + "; not written"};
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        return Error{fmt::format("{}: not a regular file but {}; not replaced", path,
                                 file_kind(st.st_mode))};
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    const auto tmp = path + ".tmp";
    if (::unlink(tmp.c_str()) != 0 && errno != ENOENT)
        return Error{fmt::format("{}: cannot remove it: {}", tmp, std::strerror(errno))};
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return Error{fmt::format("{}: cannot create it: {}", tmp, std::strerror(errno))};
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
    if (err.empty())
        return {};
    ::unlink(tmp.c_str());
    return Error{err};
}

} // namespace

void FailoverStore::load(const std::string& path, uid_t agent) {
    path_ = path;
    if (path_.empty())
        return;
    if (auto safe = check_state_file(path_, agent); !safe) {
        spdlog::error("state_file {}; ignored: failovers from before this start are not "
                      "restored, and it is not written",
                      safe.error());
        return;
    }
    auto text = read_bounded_file(path_, kStateFileLimit);
    if (!text) {
        if (text.error_code() != ENOENT) // none yet: a first start
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
        saved_ = j.dump();
        if (!failed_over_.empty())
            spdlog::info("state {}: {} domain(s) failed over before this start", path_,
                         failed_over_.size());
    } catch (const std::exception& e) {
        failed_over_.clear();
        spdlog::error("state {}: unreadable, ignored ({})", path_, e.what());
    }
}

void FailoverStore::save(const std::vector<DomainStatus>& domains) {
    nlohmann::json doc = nlohmann::json::object();
    std::map<std::string, FailedOver> now;
    for (const auto& d : domains) {
        if (!d.failover_active)
            continue;
        // Not discovered again yet since the start: the remembered order stands.
        const auto before = failed_over_.find(d.name);
        auto order = d.mx.empty() && before != failed_over_.end() ? before->second.order : d.mx;
        doc[d.name] = {{"to", d.failed_over_to}, {"order", order}};
        now[d.name] = {d.failed_over_to, std::move(order)};
    }
    failed_over_ = std::move(now);
    const auto text = nlohmann::json{{"failed_over", doc}}.dump();
    if (path_.empty() || text == saved_)
        return;
    if (auto written = write_atomically(path_, text + "\n"); !written) {
        // Tried again every window while the state differs; logged when the reason changes.
        if (written.error() != last_error_)
            spdlog::error("state_file {}; failovers are not kept across a restart",
                          written.error());
        last_error_ = written.error();
        return;
    }
    last_error_.clear();
    saved_ = text;
}

} // namespace mxs
