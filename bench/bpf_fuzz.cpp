// The fuzz test's generator and checks (tests/bpf/fuzz.h) at benchmark scale: 10 million
// frames by default through both sensor programs, reporting frames per second and any
// invariant violation (exit status 1).
//
//   sudo build/bench/bpf_fuzz [--frames N] [--seed S] [--round R] [--round-frames N]
#include "fuzz.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>

using namespace mxs;

int main(int argc, char** argv) {
    fuzz::Options o;
    o.frames = 10'000'000;
    o.seed = fuzz::seed_from_env();
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
        if (a == "--frames" && v)
            o.frames = std::strtoull(argv[++i], nullptr, 0);
        else if (a == "--seed" && v)
            o.seed = std::strtoull(argv[++i], nullptr, 0);
        else if (a == "--round" && v)
            o.only_round = std::strtoll(argv[++i], nullptr, 0);
        else if (a == "--round-frames" && v)
            o.round_frames = static_cast<std::uint32_t>(std::strtoul(argv[++i], nullptr, 0));
        else {
            std::fprintf(stderr, "usage: bpf_fuzz [--frames N] [--seed S] [--round R] "
                                 "[--round-frames N]\n");
            return 2;
        }
    }
    if (geteuid() != 0) {
        std::fprintf(stderr, "bpf_fuzz: needs root\n");
        return 1;
    }
    auto sensor = Sensor::load(SensorConfig{});
    if (!sensor) {
        std::fprintf(stderr, "bpf_fuzz: %s\n", sensor.error().c_str());
        return 1;
    }
    std::printf("fuzz seed %llu (MXS_FUZZ_SEED=%llu), %llu frames\n",
                static_cast<unsigned long long>(o.seed), static_cast<unsigned long long>(o.seed),
                static_cast<unsigned long long>(o.frames));
    std::fflush(stdout);
    const fuzz::Report r = fuzz::run(**sensor, o);
    std::fputs(r.summary().c_str(), stdout);
    std::printf("%.0f frames/s (%.2f us per frame in BPF_PROG_TEST_RUN)\n",
                r.seconds > 0 ? static_cast<double>(r.frames) / r.seconds : 0.0,
                r.frames ? r.run_seconds * 1e6 / static_cast<double>(r.frames) : 0.0);
    return r.ok() ? 0 : 1;
}
