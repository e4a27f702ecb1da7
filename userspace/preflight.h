// Checks run before touching the kernel, each giving one clear line on failure.
#pragma once

#include <optional>
#include <string>

namespace mxs {

std::optional<std::string> check_btf();
std::optional<std::string> check_privileges();

} // namespace mxs
