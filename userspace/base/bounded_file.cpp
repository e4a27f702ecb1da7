#include "base/bounded_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mxs {

const char* file_kind(unsigned st_mode) {
    switch (st_mode & S_IFMT) {
    case S_IFREG:
        return "a regular file";
    case S_IFDIR:
        return "a directory";
    case S_IFIFO:
        return "a FIFO";
    case S_IFCHR:
        return "a character device";
    case S_IFBLK:
        return "a block device";
    case S_IFSOCK:
        return "a socket";
    case S_IFLNK:
        return "a symbolic link";
    default:
        return "of an unknown type";
    }
}

Result<std::string> read_bounded_file(const std::string& path, std::size_t limit) {
    auto cannot = [&](int err) {
        return Error{fmt::format("{}: cannot read it: {}", path, std::strerror(err)), err};
    };
    auto not_regular = [&](unsigned mode) {
        return Error{fmt::format("{}: not a regular file but {}", path, file_kind(mode))};
    };
    // Before the open: opening a device can have effects of its own (a tape rewinds, a
    // watchdog starts), and a FIFO is better refused than opened.
    struct stat before {};
    if (::stat(path.c_str(), &before) != 0)
        return cannot(errno);
    if (!S_ISREG(before.st_mode))
        return not_regular(before.st_mode);
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return cannot(errno);
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    // The same check on what was opened: the path may have been replaced since the stat.
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        return cannot(errno);
    if (!S_ISREG(st.st_mode))
        return not_regular(st.st_mode);
    std::string text;
    text.reserve(
        std::min<std::size_t>(static_cast<std::size_t>(std::max<off_t>(st.st_size, 0)), limit) + 1);
    char buf[64 * 1024];
    for (;;) {
        const std::size_t want = std::min(sizeof buf, limit + 1 - text.size());
        if (want == 0)
            break; // limit + 1 bytes: too large, whatever follows
        const ssize_t n = ::read(fd, buf, want);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return cannot(errno);
        }
        if (n == 0)
            break;
        text.append(buf, static_cast<std::size_t>(n));
    }
    if (text.size() > limit)
        return Error{fmt::format("{}: larger than the limit of {} bytes", path, limit)};
    return text;
}

} // namespace mxs
