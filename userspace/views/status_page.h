// The agent's own page at `/`: one self-contained HTML document (no scripts,
// no external assets) that reloads itself, rendered from the snapshot.
#pragma once

#include "views/snapshot.h"

#include <string>

namespace mxs {

std::string status_html(const Snapshot& s, double refresh_s);

std::string html_escape(const std::string& text);

} // namespace mxs
