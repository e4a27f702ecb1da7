// Boost.Asio coroutines. Boost 1.74's awaitable.hpp uses std::exchange without
// including <utility>, so it comes first (kept in order against clang-format).
#pragma once

// clang-format off
#include <utility>
#include <boost/asio/awaitable.hpp>
// clang-format on
