// A value from input (a file, the command line, the network) as an error message shows it.
#pragma once

#include <string>
#include <string_view>

namespace mxs {

/// s in single quotes, one line and bounded: control characters and DEL as C escapes (\n, \r,
/// \t, \x1b), bytes that are not UTF-8 as \xNN, the C1 controls and the invisible format and
/// bidirectional controls (U+202E, ...) as \uXXXX, a quote or backslash escaped, and at most
/// `max` bytes of s followed by "..." and the full size. A value can then neither forge a log
/// line, nor drive or reorder a terminal, nor bury the message.
std::string shown(std::string_view s, std::size_t max = 80);

/// s escaped as shown() escapes it, without quotes or bound, for a message that carries values
/// not passed through shown(): it stays one line and cannot drive a terminal.
std::string printable(std::string_view s);

} // namespace mxs
