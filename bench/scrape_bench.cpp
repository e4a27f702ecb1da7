// Cost of rendering the Prometheus exposition (views/metrics.cpp) for N DNS servers, apart
// from reading the kernel's maps: the part of a scrape that grows with the servers known.
//
// usage: scrape_bench [SERVERS [ROUNDS]]     (default 256 servers, 50 rounds; prints the
//                                             median and the exposition's size)
#include "views/metrics.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

using namespace mxs;

int main(int argc, char** argv) {
    const int servers = argc > 1 ? std::atoi(argv[1]) : 256;
    const int rounds = argc > 2 ? std::atoi(argv[2]) : 50;
    if (servers < 1 || servers > 65534 || rounds < 1 || rounds > 100000) {
        std::fprintf(stderr, "usage: scrape_bench [SERVERS [ROUNDS]]\n");
        return 2;
    }
    Snapshot snap;
    std::mt19937_64 rng(1);
    for (int i = 0; i < servers; ++i) {
        DnsCounters c;
        c.queries = rng() % 100000;
        c.responses[MXS_RCODE_NOERROR] = c.queries / 2;
        // Latencies spread over a few hundred fine buckets, as a busy server's are.
        for (int s = 0; s < 2000; ++s)
            c.latency.counts[200 + rng() % 300] += 1;
        snap.dns[SeriesKey{"198.18." + std::to_string(i / 250) + "." + std::to_string(i % 250),
                           i % 2 ? "client" : "server", i % 3 ? "udp" : "tcp"}] = c;
    }
    const MetricsOptions opts{{0.0001, 0.001, 0.01, 0.1, 1, 10}};
    std::vector<double> ms;
    std::size_t bytes = 0;
    for (int r = 0; r < rounds; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        bytes = render_metrics(snap, opts).size();
        ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count());
    }
    std::sort(ms.begin(), ms.end());
    std::printf("render %d servers: median %.3f ms, min %.3f ms, %zu bytes\n", servers,
                ms[ms.size() / 2], ms.front(), bytes);
    return 0;
}
