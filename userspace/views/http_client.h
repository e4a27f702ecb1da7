// A small blocking HTTP GET for the CLI (`mxsense status`).
#pragma once

#include "base/addr.h"
#include "base/result.h"

#include <string>

namespace mxs {

Result<std::string> http_get(const ListenAddress& addr, const std::string& target);

} // namespace mxs
