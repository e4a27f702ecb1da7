// Runs the real sensor programs on crafted frames through BPF_PROG_TEST_RUN.
#pragma once

#include "base/addr.h"
#include "kernel/sensor.h"
#include "packet_builder.h"

#include <bpf/bpf.h>
#include <cstdlib>
#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <unistd.h>

namespace mxs::test {

inline constexpr int kXdpPass = 2;
inline constexpr int kTcActOk = 0;

class SensorFixture : public ::testing::Test {
  protected:
    // Root is needed; without it the test skips loudly (CI runs as root, so it never skips there).
    // One load with the default config serves every test (verification takes about a
    // second); its maps are emptied before each test.
    void SetUp() override {
        if (geteuid() != 0)
            GTEST_SKIP()
                << "*** SKIPPED: BPF tests need root (CAP_BPF, CAP_NET_ADMIN); run as root ***";
        static std::unique_ptr<Sensor> shared;
        if (!shared) {
            auto s = Sensor::load(SensorConfig{});
            ASSERT_TRUE(s) << s.error();
            shared = std::move(*s);
        }
        shared->clear_maps();
        sensor_ = shared.get();
    }

    // A test that needs another configuration loads its own.
    void load(const SensorConfig& cfg) {
        auto s = Sensor::load(cfg);
        ASSERT_TRUE(s) << s.error();
        owned_ = std::move(*s);
        sensor_ = owned_.get();
    }

    int run(int prog_fd, const Bytes& frame) {
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                    .data_size_in = static_cast<__u32>(frame.size()), .repeat = 1);
        const int err = bpf_prog_test_run_opts(prog_fd, &opts);
        EXPECT_EQ(err, 0) << "bpf_prog_test_run_opts failed";
        return static_cast<int>(opts.retval);
    }
    // Ingress: the XDP program; must let the packet pass.
    void ingress(const Bytes& frame) { EXPECT_EQ(run(sensor_->xdp_prog_fd(), frame), kXdpPass); }
    // Egress: the TC program; must let the packet pass.
    void egress(const Bytes& frame) { EXPECT_EQ(run(sensor_->tc_prog_fd(), frame), kTcActOk); }

    // Counters of one server (all ports), as the agent sums them.
    DnsCounters server(const std::string& addr, std::uint8_t role, std::uint8_t proto) {
        DnsCounters out;
        for (const auto& [k, c] : sensor_->read_dns_stats())
            if (addr_to_string(k.addr) == addr && k.role == role && k.proto == proto)
                out.add(c);
        return out;
    }
    std::size_t servers() { return sensor_->read_dns_stats().size(); }
    SmtpCounters smtp(const std::string& addr, std::uint8_t role) {
        SmtpCounters out;
        for (const auto& [k, c] : sensor_->read_smtp_stats())
            if (addr_to_string(k.addr) == addr && k.role == role)
                out.add(c);
        return out;
    }
    std::uint64_t counter(mxs_counter c) { return sensor_->read_counters()[c]; }
    // Expire every query in flight (10 s from now, timeout 1 ns), as the agent's sweep does
    // after the timeout.
    SweepResult sweep_all() { return sensor_->sweep(monotonic_ns() + 10'000'000'000ull, 1); }
    std::uint64_t responses(const DnsCounters& c) {
        std::uint64_t n = 0;
        for (auto r : c.responses)
            n += r;
        return n;
    }

    Sensor* sensor_ = nullptr;
    std::unique_ptr<Sensor> owned_;
};

inline constexpr std::uint8_t kUdp = 17, kTcp = 6;

} // namespace mxs::test
