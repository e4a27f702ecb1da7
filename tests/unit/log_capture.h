// Unit tests' capture of spdlog's default logger: what the code under test logs, one
// "LEVEL message" line each, until the capture ends (the previous logger comes back).
#pragma once

#include <memory>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sstream>
#include <string>

namespace mxs {

/// RAII: spdlog's default logger writes "LEVEL message" lines into text() while this lives.
class LogCapture {
  public:
    LogCapture() : old_(spdlog::default_logger()) {
        auto logger = std::make_shared<spdlog::logger>(
            "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(*log_));
        logger->set_pattern("%l %v");
        spdlog::set_default_logger(logger);
    }
    ~LogCapture() { spdlog::set_default_logger(old_); }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    std::string text() const { return log_->str(); }

  private:
    std::shared_ptr<std::ostringstream> log_ = std::make_shared<std::ostringstream>();
    std::shared_ptr<spdlog::logger> old_;
};

} // namespace mxs
