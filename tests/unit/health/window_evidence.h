// Test helper: one window's evidence from its counts.
#pragma once

#include "health/verdict.h"

#include <cstdint>

namespace mxs::test {

// A window with `attempts`, of which `errors` failed with an error and `timeouts` timed out.
inline WindowEvidence ev(std::uint64_t attempts, std::uint64_t errors, std::uint64_t timeouts) {
    WindowEvidence e;
    e.attempts = attempts;
    e.errors = errors;
    e.timeouts = timeouts;
    return e;
}

} // namespace mxs::test
