// Every option of the agent, declared once: its key in the YAML file, its command-line flag
// (if any), what it is, the field of AgentOptions it sets (whose member initializer is its
// default), the range of a number, and whether a reload (SIGHUP) applies it or only a
// restart. The YAML reader (config.cpp), the command line and --help (command_line.cpp),
// validate() and the reload (agent_config.cpp) are all driven by this table.
//
// Adding an option: a field in AgentOptions (options.h) with its default, one entry in
// kOptions (option_table.cpp), and its use. A number needs its range there, and a row in the
// README's "Number ranges" table (a unit test holds them together).
#pragma once

#include "base/result.h"
#include "config/options.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mxs {

// The range of a numeric option: the reader refuses a value that is not finite, outside
// [min, max] (or (min, max]), or not whole where `whole` is set, naming the key and the line.
struct Range {
    double min = 0;
    double max = 0;
    bool whole = false;        // a count, a port, a number of entries
    const char* unit = "";     // "seconds", "windows", "entries", ... or ""
    bool min_excluded = false; // (min, max] rather than [min, max]
};

// A range with its key: the YAML path with list positions as "[]" ("hooks[].timeout",
// "dns.ports[]" for each port of the list).
struct NumberRange : Range {
    std::string key;
};

// The field an option sets, by type. The YAML reader and the command line read each type
// their own way (a list of domains has its own reader); copy and comparison are generic.
template <class T> using FieldOf = T& (*)(AgentOptions&);
using Field = std::variant<std::monostate, // inside a list item: read by the item's reader
                           FieldOf<double>, FieldOf<std::uint32_t>, FieldOf<std::uint64_t>,
                           FieldOf<bool>, FieldOf<std::string>, FieldOf<std::vector<std::string>>,
                           FieldOf<std::vector<std::uint16_t>>, FieldOf<std::vector<double>>,
                           FieldOf<std::vector<Domain>>, FieldOf<std::vector<HookConfig>>,
                           FieldOf<std::vector<ProbeTarget>>>;

// A field of a list's item (a hook, a probe target), as a member pointer: the item's reader
// and validate() find an item's keys, types and ranges here like any option's.
using ItemField = std::variant<std::monostate, double HookConfig::*, unsigned HookConfig::*,
                               std::string HookConfig::*, std::vector<std::string> HookConfig::*,
                               std::string ProbeTarget::*>;

// The item type and value type of a member pointer (an ItemField's alternative).
template <class M> struct MemberTraits;
template <class V, class I> struct MemberTraits<V I::*> {
    using Item = I;
    using Value = V;
};

// When a changed value takes effect.
enum class Apply { reload, restart };

struct OptionSpec {
    const char* key;  // YAML path: "dns.timeout"; inside list items "hooks[].timeout"
    const char* flag; // CLI11 names ("-l,--listen"), "" when the file alone sets it
    const char* help;
    Field field;
    Apply apply = Apply::reload;
    // Numbers (and each number of a list): the range. Others: nullopt.
    std::optional<Range> range = std::nullopt;
    // Keys inside a list's items ("hooks[].timeout"): the item's field (`field` is empty).
    ItemField item = {};
    // A word option's allowed values, '|'-separated ("text|json"); nullptr: any text.
    const char* choices = nullptr;

    // The allowed values of `choices` ({"text", "json"}); empty without them.
    std::vector<std::string_view> choice_list() const;

    // The long flag ("--listen" of "-l,--listen"), "" when there is none.
    std::string long_flag() const;
};

// Every option.
std::span<const OptionSpec> option_table();

// The option whose key is `key` (list positions as "[]" or as indices: "hooks[2].timeout"),
// or nullptr.
const OptionSpec* find_option(std::string_view key);

// Whether `key` names a section: a mapping whose keys are options ("dns", "verdicts").
bool is_section(std::string_view key);

// "hooks[2].timeout" -> "hooks[].timeout": the key of a field's option.
std::string option_key(std::string_view field);

// The value of option `s` in `from` copied to `to`; whether they hold the same.
void copy_option(const OptionSpec& s, AgentOptions& to, AgentOptions& from);
bool same_option(const OptionSpec& s, AgentOptions& a, AgentOptions& b);

// The value as the README and --help show it ("5", "[53]", "127.0.0.1:10053", "true").
std::string show_option(const OptionSpec& s, AgentOptions& o);

// Every numeric option's range.
std::span<const NumberRange> number_ranges();

// The range of `key` (list positions as "[]" or indices), or nullptr for a key without one.
const NumberRange* number_range(std::string_view key);

// "text or json", "auto, native or generic": the option's choices in words.
std::string describe_choices(const OptionSpec& s);

// "from 1 to 16777216 entries", "from 0 (excluded) to 3600 seconds": the range in words.
std::string describe_range(const Range& r);

// Whether v lies in r: above its minimum (or at it, unless excluded), at most its maximum,
// whole where r says so. NaN lies in no range.
bool within(const Range& r, double v);

// A number of range r as the file or the command line writes it: decimal with an optional
// sign, fraction and exponent ("10", "-2", "0.5", "1e-3"); no leading zero before a digit
// ("010": octal in YAML 1.1 and in C), no hex, no spaces, no .inf or .nan. The one reader of
// numbers for both inputs, so the value checked is the value stored. Errors: "expected a
// whole number from 1 to 65535" and the like, without the text (the caller names it).
Result<double> read_number(const Range& r, std::string_view text);

} // namespace mxs
