// process_* from /proc against what the kernel says another way: getrusage(2), descriptors
// probed with fcntl(2), limits this test sets, memory it maps, the time it started.
#include "base/unique_fd.h"
#include "views/metrics.h"
#include "views/process_metrics.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <string>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

namespace mxs {
namespace {

double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Taken while the test binary initialises, before main: the process started a little earlier.
const double kInitialised = unix_now();

ProcessStats read() {
    auto p = read_process_stats();
    EXPECT_TRUE(p) << p.error();
    return p ? *p : ProcessStats{};
}

// A line written from proc(5)'s field list: the command name holds spaces and both parentheses.
TEST(ProcessMetrics, ParsesStatFieldsAfterTheLastParenthesis) {
    std::string line = "4242 (a) b (c) S";
    for (int field = 4; field <= 52; ++field) {
        int v = field; // each field its own number, but those taken
        if (field == 14)
            v = 250; // utime, ticks
        if (field == 15)
            v = 50; // stime
        if (field == 22)
            v = 12345; // starttime, ticks since boot
        if (field == 23)
            v = 1 << 30; // vsize, bytes
        if (field == 24)
            v = 300; // rss, pages
        line += " " + std::to_string(v);
    }
    auto p = parse_proc_stat(line + "\n", 100, 4096);
    ASSERT_TRUE(p) << p.error();
    EXPECT_DOUBLE_EQ(p->cpu_seconds, 3.0);
    EXPECT_DOUBLE_EQ(p->start_time_s, 123.45);
    EXPECT_DOUBLE_EQ(p->virtual_bytes, 1073741824.0);
    EXPECT_DOUBLE_EQ(p->resident_bytes, 300.0 * 4096);

    EXPECT_EQ(parse_proc_stat("4242 (x) S 1 2 3", 100, 4096).error(),
              "6 fields, 24 expected at least");
    EXPECT_EQ(parse_proc_stat("4242 x S 1 2 3", 100, 4096).error(),
              "no command name in parentheses");
    auto bad = line;
    bad.replace(bad.find(" 250 "), 5, " 2x0 ");
    EXPECT_EQ(parse_proc_stat(bad, 100, 4096).error(), "field 14 is no count: '2x0'");
}

TEST(ProcessMetrics, CpuTimeAgreesWithGetrusage) {
    // 0.3 s of this process's CPU time (not wall time: the machine may be busy).
    auto cpu_now = [] {
        timespec t{};
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
    };
    volatile double sink = 0;
    for (const double until = cpu_now() + 0.3; cpu_now() < until;)
        sink = sink + std::sqrt(sink + 1);
    rusage ru{};
    ASSERT_EQ(getrusage(RUSAGE_SELF, &ru), 0);
    const auto p = read();
    auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    const double by_rusage = seconds(ru.ru_utime) + seconds(ru.ru_stime);
    EXPECT_GE(by_rusage, 0.25);
    // /proc counts whole clock ticks (10 ms) of user and system time each.
    EXPECT_NEAR(p.cpu_seconds, by_rusage, 0.05);
}

// Every descriptor below the limit probed with F_GETFD; and N more opened show as N more.
TEST(ProcessMetrics, OpenDescriptorsAsFcntlFindsThem) {
    auto probed = [] {
        double n = 0;
        for (int fd = 0; fd < 4096; ++fd)
            if (fcntl(fd, F_GETFD) != -1)
                ++n;
        return n;
    };
    const auto before = read();
    ASSERT_TRUE(before.open_fds);
    EXPECT_EQ(*before.open_fds, probed());
    std::vector<UniqueFd> opened;
    for (int i = 0; i < 17; ++i)
        opened.emplace_back(open("/dev/null", O_RDONLY | O_CLOEXEC));
    ASSERT_GE(opened.back().get(), 0);
    const auto after = read();
    ASSERT_TRUE(after.open_fds);
    EXPECT_EQ(*after.open_fds, *before.open_fds + 17);
    EXPECT_EQ(*after.open_fds, probed());
}

// The soft limits this test sets (lowered, then restored); unlimited as 2^64 - 1.
TEST(ProcessMetrics, LimitsAreTheSoftLimitsSet) {
    rlimit files{}, as{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &files), 0);
    ASSERT_EQ(getrlimit(RLIMIT_AS, &as), 0);
    rlimit lowered = files;
    lowered.rlim_cur = 999;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
    // Far above any mapping (ASan's shadow included): nothing this test does is refused.
    rlimit huge = as;
    huge.rlim_cur = rlim_t{1} << 62;
    ASSERT_EQ(setrlimit(RLIMIT_AS, &huge), 0);
    const auto p = read();
    EXPECT_EQ(p.max_fds, 999);
    EXPECT_EQ(p.max_virtual_bytes, std::ldexp(1.0, 62));
    rlimit unlimited = as;
    unlimited.rlim_cur = as.rlim_max;
    ASSERT_EQ(setrlimit(RLIMIT_AS, &unlimited), 0);
    if (as.rlim_max == RLIM_INFINITY) {
        EXPECT_EQ(read().max_virtual_bytes, 18446744073709551615.0);
    }
    EXPECT_EQ(setrlimit(RLIMIT_NOFILE, &files), 0);
    EXPECT_EQ(setrlimit(RLIMIT_AS, &as), 0);
}

// 256 MiB mapped grow the virtual size by that; 64 MiB touched grow the resident set by that,
// which getrusage's peak then covers.
TEST(ProcessMetrics, MemoryFollowsWhatIsMapped) {
    constexpr std::size_t kMiB = 1 << 20;
    const auto v0 = read();
    void* reserved = mmap(nullptr, 256 * kMiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(reserved, MAP_FAILED);
    const auto v1 = read();
    EXPECT_GE(v1.virtual_bytes - v0.virtual_bytes, 256.0 * kMiB);
    EXPECT_LT(v1.virtual_bytes - v0.virtual_bytes, 272.0 * kMiB);
    munmap(reserved, 256 * kMiB);

    void* touched =
        mmap(nullptr, 64 * kMiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(touched, MAP_FAILED);
    const auto r0 = read();
    std::memset(touched, 1, 64 * kMiB);
    const auto r1 = read();
    EXPECT_GE(r1.resident_bytes - r0.resident_bytes, 63.0 * kMiB);
    rusage ru{};
    ASSERT_EQ(getrusage(RUSAGE_SELF, &ru), 0);
    EXPECT_LE(r1.resident_bytes, static_cast<double>(ru.ru_maxrss) * 1024 + 1 * kMiB);
    munmap(touched, 64 * kMiB);
}

// The process began before this binary's static initialisation, and not long before. The boot
// time is whole seconds.
TEST(ProcessMetrics, StartTimeIsJustBeforeInitialisation) {
    const auto p = read();
    EXPECT_LE(p.start_time_s, kInitialised + 1.01);
    EXPECT_GT(p.start_time_s, kInitialised - 10);
}

TEST(ProcessMetrics, RenderedAsTheClientLibrariesNameThem) {
    Snapshot snap;
    EXPECT_EQ(render_metrics(snap, MetricsOptions{{0.001}}).find("process_"), std::string::npos);
    snap.process = ProcessStats{1.5, 1800000000, 2e9, 3e7, 12, 1024, 18446744073709551615.0};
    auto text = render_metrics(snap, MetricsOptions{{0.001}});
    for (const char* want :
         {"# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.5\n",
          "# TYPE process_open_fds gauge\nprocess_open_fds 12\n", "process_max_fds 1024\n",
          "process_virtual_memory_bytes 2000000000\n",
          "process_virtual_memory_max_bytes 1.844674407370955e+19\n",
          "process_resident_memory_bytes 30000000\n", "process_start_time_seconds 1800000000\n"})
        EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
    snap.process->open_fds.reset(); // /proc/self/fd unreadable: the family is left out
    text = render_metrics(snap, MetricsOptions{{0.001}});
    EXPECT_EQ(text.find("process_open_fds"), std::string::npos);
    EXPECT_NE(text.find("process_max_fds 1024\n"), std::string::npos);
}

} // namespace
} // namespace mxs
