// How the agent's log lines look: text for a terminal, lines for the systemd journal, JSON
// objects for log shippers; and whether stderr is the journal.
#pragma once

#include <memory>
#include <optional>
#include <spdlog/common.h>
#include <spdlog/formatter.h>
#include <string>
#include <string_view>

namespace mxs {

/// The formats of `--log-format` once `auto` is decided.
///  text:    "2026-11-30T15:58:17.123Z warning MESSAGE", UTC (never local time).
///  journal: "<4>MESSAGE": the sd-daemon(3) priority prefix that journald reads as the entry's
///           PRIORITY, no time stamp (the journal stamps each entry itself).
///  json:    {"time":"2026-11-30T15:58:17.123Z","level":"warning","message":"MESSAGE"}, one
///           object per line; with `journal_prefix` the "<N>" prefix before it, so that
///           journald still files it under its priority (MESSAGE is then the object).
/// In text and journal lines the message is printable() (one line, no terminal controls);
/// in JSON it is a JSON string with invalid UTF-8 replaced by U+FFFD and every control,
/// C1, line-separator and bidirectional character escaped as \uXXXX.
enum class LogFormat { text, journal, json };

/// The level's name in every format: trace, debug, info, warning, error, critical (the
/// syslog severity names of RFC 5424 §6.2.1 where there is one).
std::string_view level_name(spdlog::level::level_enum level);

/// The syslog priority (RFC 5424 §6.2.1, sd-daemon(3) prefixes) of an spdlog level:
/// trace and debug 7, info 6, warning 4, error 3, critical 2.
int syslog_priority(spdlog::level::level_enum level);

/// A formatter writing lines of `format`; `journal_prefix` adds "<N>" to json lines (journal
/// lines always have it, text lines never).
std::unique_ptr<spdlog::formatter> make_log_formatter(LogFormat format, bool journal_prefix);

/// Whether `journal_stream` (the value of $JOURNAL_STREAM, "DEVICE:INODE" in decimal, as
/// systemd sets it for a service whose stderr or stdout is connected to the journal; nullptr
/// when unset) names the file `fd` refers to (fstat()). systemd.exec(5): a program should
/// compare with its stderr before it speaks the journal's protocol there, because the
/// variable is inherited by children whose stderr may be elsewhere.
bool fd_is_journal_stream(int fd, const char* journal_stream);

/// "<N>" for `level` when stderr is the journal (fd_is_journal_stream() of fd 2 and
/// $JOURNAL_STREAM), else "": for lines written to stderr without the logger (check-config's
/// errors and warnings, the agent's refusal of its options), so that the journal files them
/// under their priority too.
std::string stderr_journal_prefix(spdlog::level::level_enum level);

/// `--log-format` as given (auto | text | journal | json) to what is written: auto is journal
/// when stderr is the journal, else text. nullopt for any other name.
std::optional<LogFormat> decide_log_format(std::string_view name, bool stderr_is_journal);

} // namespace mxs
