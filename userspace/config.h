// The agent's YAML configuration file: strict (unknown keys, wrong types and
// impossible values are errors naming the file, line and field), defaults in
// code (AgentOptions).
#pragma once

#include "options.h"
#include "result.h"

#include <string>

namespace mxs {

// Reads path on top of the defaults, then checks the whole (validate()).
Result<AgentOptions> load_config(const std::string& path);

// The same from text; name stands for the file in messages.
Result<AgentOptions> parse_config(const std::string& text, const std::string& name);

} // namespace mxs
