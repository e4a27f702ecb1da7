// The hook runner with real processes: environment, process-group timeout,
// shell metacharacters, inherited descriptors, busy and cooldown, retries.
#include "hook_runner.h"

#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <set>
#include <signal.h>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace mxs {
namespace {

namespace fs = std::filesystem;

// Runs fire(ev) on a private io_context to completion.
std::vector<HookRun> run_hook(HookSpec spec, const HookEvent& ev, int fires = 1) {
    boost::asio::io_context io;
    HookRunner r(io, std::move(spec));
    std::vector<HookRun> runs;
    r.on_run = [&](const HookRun& run) { runs.push_back(run); };
    for (int i = 0; i < fires; ++i)
        r.fire(ev);
    io.run();
    return runs;
}

HookEvent event() {
    return {"domain_failover",  "example.test", "mx1.example.test", "mx1.example.test",
            "mx2.example.test", "DOWN",         "timeouts 100%"};
}

TEST(HookRunner, MinimalEnvironmentWithTheEvent) {
    auto runs = run_hook({"env", {"/usr/bin/env"}, 5, 0, 0, 0}, event());
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].result, "success");
    std::set<std::string> lines;
    std::istringstream in(runs[0].output);
    for (std::string l; std::getline(in, l);)
        lines.insert(l);
    EXPECT_EQ(lines, (std::set<std::string>{
                         "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                         "LANG=C", "MXSENSE_EVENT=domain_failover", "MXSENSE_DOMAIN=example.test",
                         "MXSENSE_TARGET=mx1.example.test", "MXSENSE_FROM=mx1.example.test",
                         "MXSENSE_TO=mx2.example.test", "MXSENSE_STATE=DOWN",
                         "MXSENSE_REASON=timeouts 100%"}));
}

TEST(HookRunner, TimeoutKillsTheWholeProcessGroup) {
    const auto pidfile = fs::temp_directory_path() / ("mxs-hook-" + std::to_string(getpid()));
    const std::string script = "sleep 100 & echo $! > " + pidfile.string() + "; sleep 100";
    const auto start = std::chrono::steady_clock::now();
    auto runs = run_hook({"slow", {"/bin/sh", "-c", script}, 0.5, 0, 0, 0}, event());
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].result, "timeout");
    EXPECT_LT(took, std::chrono::seconds(5));
    std::ifstream in(pidfile);
    pid_t grandchild = 0;
    in >> grandchild;
    fs::remove(pidfile);
    ASSERT_GT(grandchild, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    // Reaped by init or gone: either way no longer a live process.
    std::ifstream stat("/proc/" + std::to_string(grandchild) + "/stat");
    std::string line;
    std::getline(stat, line);
    EXPECT_TRUE(line.empty() || line.find(") Z") != std::string::npos) << line;
}

TEST(HookRunner, ShellMetacharactersInTargetsRunNothing) {
    const auto marker = fs::temp_directory_path() / ("mxs-pwned-" + std::to_string(getpid()));
    HookEvent ev = event();
    ev.target = "mx1; touch " + marker.string() + " $(touch " + marker.string() + ")";
    auto runs = run_hook({"echo", {"/usr/bin/printenv", "MXSENSE_TARGET"}, 5, 0, 0, 0}, ev);
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].output, ev.target + "\n");
    EXPECT_FALSE(fs::exists(marker));
}

TEST(HookRunner, NoDescriptorOfTheAgentReachesTheHook) {
    // Like a BPF map fd: opened without O_CLOEXEC, so only the runner can keep it out.
    const int leaky = open("/dev/null", O_RDONLY);
    ASSERT_GE(leaky, 3);
    auto runs = run_hook({"fds", {"/bin/ls", "/proc/self/fd"}, 5, 0, 0, 0}, event());
    close(leaky);
    ASSERT_EQ(runs.size(), 1u);
    // 0-2, and the descriptor ls itself opens to read the directory.
    EXPECT_EQ(runs[0].output, "0\n1\n2\n3\n");
}

TEST(HookRunner, BusyAndCooldownRefuse) {
    boost::asio::io_context io;
    HookRunner r(io, {"quick", {"/bin/true"}, 5, 60, 0, 0});
    std::vector<HookRun> runs;
    r.on_run = [&](const HookRun& run) { runs.push_back(run); };
    EXPECT_TRUE(r.fire(event()));
    EXPECT_FALSE(r.fire(event())); // still running
    io.run();
    EXPECT_FALSE(r.fire(event())); // cooling down
    ASSERT_EQ(runs.size(), 3u);
    EXPECT_EQ(runs[0].result, "busy");
    EXPECT_EQ(runs[1].result, "success");
    EXPECT_EQ(runs[2].result, "cooldown");
}

TEST(HookRunner, FailuresRetryWithBackoff) {
    const auto start = std::chrono::steady_clock::now();
    auto runs = run_hook({"fails", {"/bin/sh", "-c", "exit 3"}, 5, 0, 2, 0.1}, event());
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_EQ(runs.size(), 3u); // the first attempt and two retries
    for (unsigned i = 0; i < 3; ++i) {
        EXPECT_EQ(runs[i].result, "failure");
        EXPECT_EQ(runs[i].exit_status, 3);
        EXPECT_EQ(runs[i].attempt, i + 1);
    }
    EXPECT_GE(took, std::chrono::milliseconds(300)); // 0.1 s, then 0.2 s
}

TEST(HookRunner, MissingProgramIsAFailureNotACrash) {
    auto runs = run_hook({"missing", {"/nonexistent/hook"}, 5, 0, 0, 0}, event());
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].result, "failure");
    EXPECT_EQ(runs[0].exit_status, 127);
}

} // namespace
} // namespace mxs
