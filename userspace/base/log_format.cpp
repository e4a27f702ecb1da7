#include "base/log_format.h"

#include "base/shown.h"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/details/log_msg.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mxs {
namespace {

// "2026-11-30T15:58:17.123Z": RFC 3339 in UTC with milliseconds.
void append_utc(std::chrono::system_clock::time_point t, spdlog::memory_buf_t& out) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
    const auto secs =
        static_cast<std::time_t>(std::chrono::floor<std::chrono::seconds>(ms).count());
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                   static_cast<int>(ms.count() - static_cast<long long>(secs) * 1000));
}

void append(spdlog::memory_buf_t& out, std::string_view s) {
    out.append(s.data(), s.data() + s.size());
}

// A JSON string (quotes included) of s: nlohmann's escaping (controls below U+0020, quote and
// backslash; invalid UTF-8 replaced by U+FFFD), then what a terminal or viewer would act on
// though JSON allows it raw, as \uXXXX: DEL, the C1 controls, U+2028/2029 (line breaks to
// JavaScript and some viewers) and the invisible bidirectional controls (as printable()).
std::string json_string(std::string_view s) {
    const auto dumped = nlohmann::json(std::string(s))
                            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string out;
    out.reserve(dumped.size());
    for (std::size_t i = 0; i < dumped.size();) {
        const auto c = static_cast<unsigned char>(dumped[i]);
        if (c == 0x7f) {
            out += "\\u007f";
            ++i;
            continue;
        }
        // After dump() the text is well-formed UTF-8: the sequence's length from its lead byte.
        const std::size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        char32_t cp = c;
        if (n == 2)
            cp = (c & 0x1fu) << 6 | (static_cast<unsigned char>(dumped[i + 1]) & 0x3fu);
        else if (n == 3)
            cp = (c & 0x0fu) << 12 | (static_cast<unsigned char>(dumped[i + 1]) & 0x3fu) << 6 |
                 (static_cast<unsigned char>(dumped[i + 2]) & 0x3fu);
        const bool hidden = (cp >= 0x80 && cp <= 0x9f && n == 2) || cp == 0x061c ||
                            (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
                            (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
        if (hidden && n > 1)
            out += fmt::format("\\u{:04x}", static_cast<std::uint32_t>(cp));
        else
            out.append(dumped, i, n);
        i += n;
    }
    return out;
}

class LineFormatter : public spdlog::formatter {
  public:
    LineFormatter(LogFormat format, bool journal_prefix)
        : format_(format),
          prefix_(format == LogFormat::journal || (format == LogFormat::json && journal_prefix)) {}

    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const std::string_view payload(msg.payload.data(), msg.payload.size());
        if (prefix_)
            fmt::format_to(std::back_inserter(dest), "<{}>", syslog_priority(msg.level));
        switch (format_) {
        case LogFormat::text:
            append_utc(msg.time, dest);
            append(dest, " ");
            append(dest, level_name(msg.level));
            append(dest, " ");
            append(dest, printable(payload));
            break;
        case LogFormat::journal:
            append(dest, printable(payload));
            break;
        case LogFormat::json:
            append(dest, R"({"time":")");
            append_utc(msg.time, dest);
            append(dest, R"(","level":")");
            append(dest, level_name(msg.level));
            append(dest, R"(","message":)");
            append(dest, json_string(payload));
            append(dest, "}");
            break;
        }
        append(dest, "\n");
    }

    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<LineFormatter>(*this);
    }

  private:
    LogFormat format_;
    bool prefix_;
};

} // namespace

std::string_view level_name(spdlog::level::level_enum level) {
    switch (level) {
    case spdlog::level::trace:
        return "trace";
    case spdlog::level::debug:
        return "debug";
    case spdlog::level::info:
        return "info";
    case spdlog::level::warn:
        return "warning";
    case spdlog::level::err:
        return "error";
    case spdlog::level::critical:
        return "critical";
    default:
        return "off";
    }
}

int syslog_priority(spdlog::level::level_enum level) {
    switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
        return 7; // LOG_DEBUG
    case spdlog::level::info:
        return 6; // LOG_INFO
    case spdlog::level::warn:
        return 4; // LOG_WARNING
    case spdlog::level::err:
        return 3; // LOG_ERR
    default:
        return 2; // LOG_CRIT
    }
}

std::unique_ptr<spdlog::formatter> make_log_formatter(LogFormat format, bool journal_prefix) {
    return std::make_unique<LineFormatter>(format, journal_prefix);
}

bool fd_is_journal_stream(int fd, const char* journal_stream) {
    if (!journal_stream)
        return false;
    // "DEVICE:INODE", both decimal (systemd's DEV_FMT ":" INO_FMT).
    const std::string_view v = journal_stream;
    const auto colon = v.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == v.size())
        return false;
    auto number = [](std::string_view s, unsigned long long& out) {
        if (s.find_first_not_of("0123456789") != std::string_view::npos || s.size() > 20)
            return false;
        errno = 0;
        char* end = nullptr;
        const std::string text(s);
        out = std::strtoull(text.c_str(), &end, 10);
        return errno == 0 && end && *end == '\0';
    };
    unsigned long long dev = 0, ino = 0;
    if (!number(v.substr(0, colon), dev) || !number(v.substr(colon + 1), ino))
        return false;
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        return false;
    return static_cast<unsigned long long>(st.st_dev) == dev &&
           static_cast<unsigned long long>(st.st_ino) == ino;
}

std::string stderr_journal_prefix(spdlog::level::level_enum level) {
    if (!fd_is_journal_stream(STDERR_FILENO, std::getenv("JOURNAL_STREAM")))
        return {};
    return fmt::format("<{}>", syslog_priority(level));
}

std::optional<LogFormat> decide_log_format(std::string_view name, bool stderr_is_journal) {
    if (name == "auto")
        return stderr_is_journal ? LogFormat::journal : LogFormat::text;
    if (name == "text")
        return LogFormat::text;
    if (name == "journal")
        return LogFormat::journal;
    if (name == "json")
        return LogFormat::json;
    return std::nullopt;
}

} // namespace mxs
