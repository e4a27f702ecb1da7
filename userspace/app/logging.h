// The agent's log: stderr (the journal under systemd), as base/log_format.h writes it.
#pragma once

#include <string>

namespace mxs {

// Sets the default logger. level: debug | info | warn (or warning) | error; format: auto
// (journal when stderr is the journal: $JOURNAL_STREAM names fd 2, else text) | text |
// journal | json (LogFormat). Under the journal, json lines carry the priority prefix too.
// May be called again (the new logger replaces the old).
void setup_logging(const std::string& level, const std::string& format);

} // namespace mxs
