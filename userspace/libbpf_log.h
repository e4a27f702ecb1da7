#pragma once

namespace mxs {
// Route libbpf's messages into the agent's logger.
void route_libbpf_logs();
} // namespace mxs
