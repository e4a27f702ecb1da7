// The agent's YAML configuration file: strict (unknown keys, wrong types and impossible values
// are errors naming the file, line and field), its keys those of option_table(), defaults in
// code (AgentOptions).
#pragma once

#include "base/result.h"
#include "config/options.h"
#include "config/origins.h"

#include <string>

namespace mxs {

// Reads path on top of the defaults, then checks the whole (validate()). The webhook's token
// is read from its token_file. With `origins`, where each option was read is recorded there.
Result<AgentOptions> load_config(const std::string& path, Origins* origins = nullptr);

// The same from text; name stands for the file in messages.
Result<AgentOptions> parse_config(const std::string& text, const std::string& name,
                                  Origins* origins = nullptr);

// o.web from o.web_config_file (load_web_config()), or empty without one; errors start with
// where the option was given (`at`). load_config() and agent_options() call it: the file's
// certificate, key and users are read with the rest, at start and on every reload.
Result<> load_web_options(AgentOptions& o, const Origins& at);

} // namespace mxs
