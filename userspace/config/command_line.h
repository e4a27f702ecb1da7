// The agent's command line, generated from option_table(): a flag for each option that has
// one, with its help, default and range (--help prints them), writing its field only when
// given, so that flags override the configuration file (`--config`) option by option.
#pragma once

#include "base/result.h"
#include "config/options.h"
#include "config/origins.h"

#include <string>
#include <utility>
#include <vector>

namespace CLI {
class App;
class Option;
} // namespace CLI

namespace mxs {

struct OptionSpec;
struct Range;

// Makes `opt` read its number as the configuration file does (read_number: plain decimal, in
// `r`, never NaN or infinite) and store the text it checked; out of range, CLI11 refuses the
// flag naming it. For other commands' number flags (`mxsense audit --timeout`).
void read_as_number(CLI::Option* opt, const Range& r);

// The flags of option_table() on `app`, bound to the fields of `o`; values out of range are
// refused as they are parsed, naming the flag. Returns each flag with its option.
std::vector<std::pair<CLI::Option*, const OptionSpec*>> add_agent_flags(CLI::App& app,
                                                                        AgentOptions& o);

// The options only the configuration file sets (no flag): key, help, range or choices and
// default, one per line, for the end of `mxsense agent --help`.
std::string file_options_help();

// The options of `mxsense agent ARGS` (ARGS: the arguments after "agent"): the file that
// --config names, if any, then the flags of ARGS over it, then validate() of the whole, each
// error naming the file's line or the flag. Used at start and again for every reload, so a
// reload keeps what the command line set.
Result<AgentOptions> agent_options(const std::vector<std::string>& args);

} // namespace mxs
