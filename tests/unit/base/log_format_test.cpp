// The agent's log lines (base/log_format.h): priorities from <syslog.h>, times in UTC whatever
// the local zone, JSON that a strict parser takes, one line per message.
#include "base/log_format.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <spdlog/details/log_msg.h>
#include <string>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

namespace mxs {
namespace {

// 1700000000 s after the epoch is 2023-11-14T22:13:20Z (date -u -d @1700000000).
const auto kTime = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123));

std::string line(LogFormat f, bool prefix, spdlog::level::level_enum level, std::string_view msg) {
    spdlog::details::log_msg m(kTime, spdlog::source_loc{}, "mxsense", level, msg);
    spdlog::memory_buf_t out;
    make_log_formatter(f, prefix)->format(m, out);
    return {out.data(), out.size()};
}

// A local zone far from UTC for the whole test: a local-time stamp could not pass.
class LogFormatTest : public ::testing::Test {
  protected:
    void SetUp() override {
        const char* tz = std::getenv("TZ");
        saved_ = tz ? std::optional<std::string>(tz) : std::nullopt;
        ::setenv("TZ", "MXS-14", 1); // POSIX TZ: UTC+14, no zoneinfo file needed
        ::tzset();
    }
    void TearDown() override {
        if (saved_)
            ::setenv("TZ", saved_->c_str(), 1);
        else
            ::unsetenv("TZ");
        ::tzset();
    }
    std::optional<std::string> saved_;
};

TEST_F(LogFormatTest, PrioritiesAreSyslogs) {
    EXPECT_EQ(syslog_priority(spdlog::level::trace), LOG_DEBUG);
    EXPECT_EQ(syslog_priority(spdlog::level::debug), LOG_DEBUG);
    EXPECT_EQ(syslog_priority(spdlog::level::info), LOG_INFO);
    EXPECT_EQ(syslog_priority(spdlog::level::warn), LOG_WARNING);
    EXPECT_EQ(syslog_priority(spdlog::level::err), LOG_ERR);
    EXPECT_EQ(syslog_priority(spdlog::level::critical), LOG_CRIT);
}

TEST_F(LogFormatTest, JournalLinesHaveThePrefixAndNoTime) {
    EXPECT_EQ(line(LogFormat::journal, false, spdlog::level::warn, "disk full"), "<4>disk full\n");
    EXPECT_EQ(line(LogFormat::journal, true, spdlog::level::info, "attached"), "<6>attached\n");
    EXPECT_EQ(line(LogFormat::journal, false, spdlog::level::err, "x"), "<3>x\n");
    EXPECT_EQ(line(LogFormat::journal, false, spdlog::level::critical, "x"), "<2>x\n");
    EXPECT_EQ(line(LogFormat::journal, false, spdlog::level::debug, "x"), "<7>x\n");
    // A newline would start an entry of its own at the stream's default priority (info).
    EXPECT_EQ(line(LogFormat::journal, false, spdlog::level::err, "a\n<2>forged"),
              "<3>a\\n<2>forged\n");
}

TEST_F(LogFormatTest, TextLinesAreUtc) {
    std::time_t t = 1700000000;
    std::tm local{};
    ::localtime_r(&t, &local);
    ASSERT_NE(local.tm_hour, 22) << "the test zone is UTC: it cannot tell local time from UTC";
    EXPECT_EQ(line(LogFormat::text, false, spdlog::level::warn, "disk full"),
              "2023-11-14T22:13:20.123Z warning disk full\n");
    // The prefix is for the journal only; a text line never has it.
    EXPECT_EQ(line(LogFormat::text, true, spdlog::level::info, "a\x1b[31m\r\n"),
              "2023-11-14T22:13:20.123Z info a\\x1b[31m\\r\\n\n");
}

TEST_F(LogFormatTest, JsonIsOneValidObjectPerLine) {
    const std::string hostile =
        std::string("quote\" back\\ nl\n cr\r nul") + '\0' +
        " esc\x1b del\x7f bad\xff\xfe utf8 caf\xc3\xa9 c1\xc2\x9b ls\xe2\x80\xa8"
        " rlo\xe2\x80\xae end";
    const auto l = line(LogFormat::json, false, spdlog::level::err, hostile);
    ASSERT_TRUE(l.ends_with("}\n")) << l;
    const auto body = l.substr(0, l.size() - 1);
    EXPECT_EQ(body.find('\n'), std::string::npos) << l;
    for (unsigned char c : body)
        EXPECT_TRUE(c >= 0x20 && c != 0x7f) << "a raw control byte " << int(c) << " in " << l;
    // No C1 (U+0080..U+009F), U+2028 or U+202E raw in the line.
    EXPECT_EQ(body.find("\xc2\x9b"), std::string::npos) << l;
    EXPECT_EQ(body.find("\xe2\x80\xa8"), std::string::npos) << l;
    EXPECT_EQ(body.find("\xe2\x80\xae"), std::string::npos) << l;
    const auto j = nlohmann::json::parse(body); // strict: throws on invalid JSON or UTF-8
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j.size(), 3u);
    EXPECT_EQ(j["time"], "2023-11-14T22:13:20.123Z");
    EXPECT_EQ(j["level"], "error");
    EXPECT_EQ(j["message"], std::string("quote\" back\\ nl\n cr\r nul") + '\0' +
                                " esc\x1b del\x7f bad\xef\xbf\xbd\xef\xbf\xbd utf8 caf\xc3\xa9 "
                                "c1\xc2\x9b ls\xe2\x80\xa8 rlo\xe2\x80\xae end");
}

TEST_F(LogFormatTest, JsonUnderTheJournalKeepsItsPriority) {
    const auto l = line(LogFormat::json, true, spdlog::level::warn, "w");
    ASSERT_TRUE(l.starts_with("<4>{")) << l;
    EXPECT_EQ(nlohmann::json::parse(l.substr(3))["level"], "warning");
}

TEST_F(LogFormatTest, LevelNamesAreTheSameEverywhere) {
    for (auto level : {spdlog::level::trace, spdlog::level::debug, spdlog::level::info,
                       spdlog::level::warn, spdlog::level::err, spdlog::level::critical}) {
        const auto name = std::string(level_name(level));
        EXPECT_EQ(nlohmann::json::parse(line(LogFormat::json, false, level, "m"))["level"], name);
        EXPECT_EQ(line(LogFormat::text, false, level, "m"),
                  fmt::format("2023-11-14T22:13:20.123Z {} m\n", name));
        // --log-level takes the printed name back (spdlog's own parser).
        EXPECT_EQ(spdlog::level::from_str(name), level) << name;
    }
}

TEST_F(LogFormatTest, JournalStreamMustNameTheFd) {
    char path[] = "/tmp/mxs-log-format-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::unlink(path);
    struct stat st {};
    ASSERT_EQ(::fstat(fd, &st), 0);
    const auto mine = fmt::format("{}:{}", st.st_dev, st.st_ino);
    EXPECT_TRUE(fd_is_journal_stream(fd, mine.c_str()));
    EXPECT_FALSE(fd_is_journal_stream(fd, nullptr));
    EXPECT_FALSE(fd_is_journal_stream(fd, fmt::format("{}:{}", st.st_dev, st.st_ino + 1).c_str()));
    EXPECT_FALSE(fd_is_journal_stream(fd, fmt::format("{}:{}", st.st_dev + 1, st.st_ino).c_str()));
    for (const char* bad :
         {"", ":", "1:", ":1", "a:b", "1:2:3", " 1:2", "-1:2", "99999999999999999999999:1"})
        EXPECT_FALSE(fd_is_journal_stream(fd, bad)) << bad;
    // A child that inherited the variable but whose stderr is elsewhere (here: /dev/null).
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    ASSERT_GE(null, 0);
    EXPECT_FALSE(fd_is_journal_stream(null, mine.c_str()));
    ::close(null);
    ::close(fd);
    EXPECT_FALSE(fd_is_journal_stream(fd, mine.c_str())); // closed: fstat fails
}

TEST_F(LogFormatTest, AutoIsJournalOnlyUnderTheJournal) {
    EXPECT_EQ(decide_log_format("auto", true), LogFormat::journal);
    EXPECT_EQ(decide_log_format("auto", false), LogFormat::text);
    EXPECT_EQ(decide_log_format("text", true), LogFormat::text);
    EXPECT_EQ(decide_log_format("journal", false), LogFormat::journal);
    EXPECT_EQ(decide_log_format("json", true), LogFormat::json);
    EXPECT_EQ(decide_log_format("xml", true), std::nullopt);
}

} // namespace
} // namespace mxs
