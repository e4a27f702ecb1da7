// The agent's log: stderr (the journal under systemd), as text lines or JSON objects.
#pragma once

#include <string>

namespace mxs {

// Sets the default logger. level: debug | info | warn | error; format: text ("TIME LEVEL
// MESSAGE", local time) | json ({"time": UTC RFC 3339, "level", "message"} per line, the
// message escaped as JSON strings are, invalid UTF-8 replaced).
void setup_logging(const std::string& level, const std::string& format);

} // namespace mxs
