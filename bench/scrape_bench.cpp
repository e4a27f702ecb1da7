// Cost of rendering the Prometheus exposition (views/metrics.cpp) for N DNS servers, apart
// from reading the kernel's maps: the part of a scrape that grows with the servers known.
// Side by side in one run: building the families (prometheus-cpp's model), writing them with
// prometheus-cpp's TextSerializer (std::ostream) and with views/exposition.h (fmt), which
// must give the same bytes (checked: exit status 1 if not).
//
// usage: scrape_bench [SERVERS [ROUNDS]]     (default 256 servers, 50 rounds; prints the
//                                             medians and the exposition's size)
#include "views/exposition.h"
#include "views/metrics.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <prometheus/text_serializer.h>
#include <random>
#include <sstream>
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
    std::vector<double> build_ms, library_ms, ours_ms, whole_ms;
    std::size_t bytes = 0;
    bool same = true;
    const auto since = [](auto t0) {
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
            .count();
    };
    for (int r = 0; r < rounds; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        const auto families = metric_families(snap, opts);
        build_ms.push_back(since(t0));
        t0 = std::chrono::steady_clock::now();
        std::ostringstream lib;
        prometheus::TextSerializer().Serialize(lib, families);
        const auto library = std::move(lib).str();
        library_ms.push_back(since(t0));
        t0 = std::chrono::steady_clock::now();
        std::string ours;
        ours.reserve(library.size() + 4096);
        write_exposition(ours, families);
        ours_ms.push_back(since(t0));
        same = same && ours == library;
        t0 = std::chrono::steady_clock::now();
        bytes = render_metrics(snap, opts).size();
        whole_ms.push_back(since(t0));
    }
    const auto median = [](std::vector<double>& v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    std::printf("%d servers, %zu bytes, medians of %d rounds:\n"
                "  families (model)          %8.3f ms\n"
                "  TextSerializer (ostream)  %8.3f ms\n"
                "  write_exposition (fmt)    %8.3f ms   (%.1fx faster, same bytes: %s)\n"
                "  render_metrics (whole)    %8.3f ms\n",
                servers, bytes, rounds, median(build_ms), median(library_ms), median(ours_ms),
                median(library_ms) / median(ours_ms), same ? "yes" : "NO", median(whole_ms));
    return same ? 0 : 1;
}
