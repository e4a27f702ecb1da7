#include "app/logging.h"

#include "base/log_format.h"

#include <cstdlib>
#include <memory>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace mxs {

void setup_logging(const std::string& level, const std::string& format) {
    const bool journal = fd_is_journal_stream(STDERR_FILENO, std::getenv("JOURNAL_STREAM"));
    // validate() allows only the names decide_log_format() knows.
    const auto f = decide_log_format(format, journal).value_or(LogFormat::text);
    // No colours: they would reach the journal or a file as escape sequences. Not registered
    // by name, so that a second call (main's default, then the agent's options) replaces it.
    auto logger = std::make_shared<spdlog::logger>(
        "mxsense", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_formatter(make_log_formatter(f, journal));
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(level));
}

} // namespace mxs
