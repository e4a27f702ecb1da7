#pragma once

namespace mxs {
// Route libbpf's messages into the agent's logger.
void route_libbpf_logs();

// While alive, libbpf's messages are dropped: for probes whose failure is expected.
class LibbpfQuiet {
  public:
    LibbpfQuiet();
    ~LibbpfQuiet();
    LibbpfQuiet(const LibbpfQuiet&) = delete;
    LibbpfQuiet& operator=(const LibbpfQuiet&) = delete;
};
} // namespace mxs
