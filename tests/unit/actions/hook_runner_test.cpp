// The hook runner with real processes: environment, process-group timeout, a setsid'ed
// grandchild or daemon contained in its run, stop (SIGTERM, then SIGKILL), reload updates
// and retirement, shell metacharacters, inherited descriptors, busy and cooldown, retries.
#include "../log_capture.h"
#include "actions/hook_runner.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <set>
#include <signal.h>
#include <spdlog/spdlog.h>
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

// Output longer than one read (1 KiB) and the supervisor's exit, both ready when the loop
// next runs: the stress run of the suite crashed here (the runner ended the attempt at the exit,
// freed the pipe's descriptor, and the read completion already queued with the next chunk
// re-armed a read through a null pointer). The attempt must end once, with every byte.
TEST(HookRunner, OutputAndExitReadyInTheSameTurn) {
    for (int round = 0; round < 5; ++round) {
        boost::asio::io_context io;
        HookRunner r(
            io,
            {"chatty", {"/bin/sh", "-c", "printf '%03000d' 7; printf '%03000d' 8"}, 5, 0, 0, 0});
        std::vector<HookRun> runs;
        r.on_run = [&](const HookRun& run) { runs.push_back(run); };
        ASSERT_TRUE(r.fire(event()));
        // The hook writes 6000 bytes and exits, and its supervisor after it, before the loop
        // reads anything.
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        io.run();
        ASSERT_EQ(runs.size(), 1u);
        EXPECT_EQ(runs[0].result, "success");
        // The last 4 KiB kept: 1096 zeros and "7" of the first number, then the second whole.
        ASSERT_EQ(runs[0].output.size(), 4096u);
        EXPECT_EQ(runs[0].output.substr(4096 - 3000), std::string(2999, '0') + "8");
        EXPECT_EQ(runs[0].output.substr(0, 1096), std::string(1095, '0') + "7");
    }
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

// A pid file path of this test process's own.
fs::path pid_path(const std::string& what) {
    return fs::temp_directory_path() / ("mxs-hook-" + what + "-" + std::to_string(getpid()));
}

// Shell text: starts a daemon in a new session (setsid: neither the hook's process group
// nor its session) that writes its pid to `pidfile` and sleeps 300 s, and waits for the file.
std::string start_setsid_daemon(const fs::path& pidfile) {
    const auto p = pidfile.string();
    return "setsid /bin/sh -c 'echo $$ > " + p + ".tmp && mv " + p + ".tmp " + p +
           "; exec sleep 300' & while [ ! -s " + p + " ]; do sleep 0.01; done; ";
}

// The pid in pidfile (removed), 0 when there is none.
pid_t take_pid(const fs::path& pidfile) {
    std::ifstream in(pidfile);
    pid_t pid = 0;
    in >> pid;
    fs::remove(pidfile);
    return pid;
}

// Whether pid names a process at all (a zombie too): kill(pid, 0) answers ESRCH when not.
bool exists(pid_t pid) {
    return kill(pid, 0) == 0 || errno != ESRCH;
}

// Kills what a failing check left behind (on the old code the daemon survives).
void reap_leftover(pid_t pid) {
    if (pid > 0 && exists(pid))
        kill(pid, SIGKILL);
}

TEST(HookRunner, TimeoutKillsASetsidGrandchild) {
    const auto pidfile = pid_path("setsid");
    const std::string script = start_setsid_daemon(pidfile) + "sleep 100";
    auto runs = run_hook({"escapes", {"/bin/sh", "-c", script}, 2, 0, 0, 0}, event());
    const pid_t daemon = take_pid(pidfile);
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].result, "timeout");
    ASSERT_GT(daemon, 0) << "the hook did not start its daemon within the timeout";
    // Reported only once every process of the run is gone (and reaped: not even a zombie).
    EXPECT_FALSE(exists(daemon)) << "the setsid'ed grandchild " << daemon << " survived";
    reap_leftover(daemon);
}

TEST(HookRunner, ADaemonLeftBehindEndsWithTheRun) {
    const auto pidfile = pid_path("daemon");
    const std::string script = start_setsid_daemon(pidfile) + "echo started; exit 0";
    auto runs = run_hook({"daemonizes", {"/bin/sh", "-c", script}, 10, 0, 0, 0}, event());
    const pid_t daemon = take_pid(pidfile);
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].result, "success");
    EXPECT_EQ(runs[0].exit_status, 0);
    EXPECT_EQ(runs[0].output, "started\n");
    ASSERT_GT(daemon, 0);
    EXPECT_FALSE(exists(daemon)) << "the daemon " << daemon << " outlived its hook's run";
    reap_leftover(daemon);
}

// The hook runs as the agent's user and may kill its own supervisor (its parent): the run
// ends, and what the hook left (itself, a setsid'ed daemon) comes to the agent, a child
// subreaper, which kills it on its next sweeps (main: reparented to init, it lived on).
TEST(HookRunner, KillingItsSupervisorDoesNotLetTheRunEscape) {
    const auto pidfile = pid_path("escape");
    const auto hookfile = pid_path("escape-hook");
    const std::string script = start_setsid_daemon(pidfile) + "echo $$ > " + hookfile.string() +
                               "; kill -9 $PPID; exec sleep 100";
    boost::asio::io_context io;
    HookRunner r(io, {"escapes", {"/bin/sh", "-c", script}, 30, 0, 0, 0});
    std::vector<HookRun> runs;
    r.on_run = [&](const HookRun& run) { runs.push_back(run); };
    r.fire(event());
    io.run(); // the supervisor's exit ends the run
    const pid_t daemon = take_pid(pidfile), hook = take_pid(hookfile);
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].result, "error"); // no status: the supervisor was killed
    ASSERT_GT(daemon, 0);
    ASSERT_GT(hook, 0);
    // The agent's sweeps (every second by default; here every 50 ms), one generation each.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while ((exists(daemon) || exists(hook)) && std::chrono::steady_clock::now() < deadline) {
        HookRunner::contain_strays();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_FALSE(exists(hook)) << "the hook " << hook << " outlived its killed supervisor";
    EXPECT_FALSE(exists(daemon)) << "its daemon " << daemon << " outlived the run";
    reap_leftover(daemon);
    reap_leftover(hook);
}

TEST(HookRunner, StopSendsSigtermThenSigkillToEveryProcessOfTheRun) {
    const auto pidfile = pid_path("stop");
    const auto marker = pid_path("stop-term"), ready = pid_path("stop-ready");
    // The main process writes a marker on SIGTERM and goes on; its daemon ends on SIGTERM.
    const std::string script = start_setsid_daemon(pidfile) + "trap 'echo term > " +
                               marker.string() + "' TERM; touch " + ready.string() +
                               "; while :; do sleep 0.05; done";
    boost::asio::io_context io;
    HookRunner r(io, {"stubborn", {"/bin/sh", "-c", script}, 60, 0, 2, 0});
    std::vector<HookRun> runs;
    r.on_run = [&](const HookRun& run) { runs.push_back(run); };
    ASSERT_TRUE(r.fire(event()));
    // Until the daemon is up and the trap set (the main process waits for the pid file).
    while (!fs::exists(ready))
        io.run_for(std::chrono::milliseconds(20));
    fs::remove(ready);
    const auto start = std::chrono::steady_clock::now();
    r.stop();
    r.wait_stopped(start + std::chrono::seconds(30));
    const auto took = std::chrono::steady_clock::now() - start;
    const pid_t daemon = take_pid(pidfile);
    EXPECT_FALSE(r.busy());
    EXPECT_TRUE(fs::exists(marker)) << "no SIGTERM reached the hook";
    fs::remove(marker);
    // It ignored SIGTERM: SIGKILL after the grace, not sooner, not much later.
    EXPECT_GE(took, std::chrono::duration<double>(kHookStopGraceS - 0.1));
    EXPECT_LT(took, std::chrono::duration<double>(kHookStopGraceS + 2));
    EXPECT_FALSE(exists(daemon)) << daemon;
    reap_leftover(daemon);
    io.run(); // no retry after a stop
    EXPECT_TRUE(runs.empty());
}

TEST(HookRunner, UpdateWhileRunningKeepsTheRunAndTheCooldown) {
    boost::asio::io_context io;
    HookRunner r(io, {"v1", {"/bin/sh", "-c", "sleep 0.3; echo one"}, 5, 60, 0, 0});
    std::vector<HookRun> runs;
    int idle = 0;
    r.on_run = [&](const HookRun& run) { runs.push_back(run); };
    r.on_idle = [&] { ++idle; };
    ASSERT_TRUE(r.fire(event()));
    r.update({"v1", {"/bin/sh", "-c", "echo two"}, 5, 0, 0, 0});
    io.run();
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].output, "one\n"); // the run that was in progress, under its own spec
    EXPECT_EQ(idle, 1);
    EXPECT_FALSE(r.fire(event())); // the cooldown it started with (60 s) holds
    EXPECT_EQ(runs.back().result, "cooldown");
    EXPECT_EQ(r.spec().argv.back(), "echo two");
}

TEST(HookRunner, UpdateWhenIdleKeepsTheCooldown) {
    boost::asio::io_context io;
    HookRunner r(io, {"v1", {"/bin/true"}, 5, 60, 0, 0});
    std::vector<HookRun> runs;
    r.on_run = [&](const HookRun& run) { runs.push_back(run); };
    ASSERT_TRUE(r.fire(event()));
    io.run();
    r.update({"v1", {"/bin/false"}, 5, 30, 0, 0});
    EXPECT_FALSE(r.fire(event()));
    ASSERT_EQ(runs.size(), 2u);
    EXPECT_EQ(runs[1].result, "cooldown");
}

TEST(HookRunner, RetiredRunEndsWithoutRetries) {
    boost::asio::io_context io;
    HookRunner r(io, {"gone", {"/bin/sh", "-c", "sleep 0.2; exit 3"}, 5, 0, 2, 0});
    std::vector<HookRun> runs;
    int idle = 0;
    r.on_run = [&](const HookRun& run) { runs.push_back(run); };
    r.on_idle = [&] { ++idle; };
    ASSERT_TRUE(r.fire(event()));
    EXPECT_TRUE(r.retire());
    io.run();
    ASSERT_EQ(runs.size(), 1u); // it ran to its end, and no retry followed
    EXPECT_EQ(runs[0].result, "failure");
    EXPECT_EQ(runs[0].exit_status, 3);
    EXPECT_EQ(idle, 1);
    EXPECT_FALSE(r.retire()); // nothing runs any more
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

// A failed run and what it said are warnings (journalctl -p warning shows them); a
// successful run and its output information.
TEST(HookRunner, AFailedRunIsLoggedAsAWarning) {
    std::string log;
    {
        const LogCapture capture;
        run_hook({"bad", {"/bin/sh", "-c", "echo no zone; exit 4"}, 5, 0, 0, 0}, event());
        run_hook({"good", {"/bin/sh", "-c", "echo promoted"}, 5, 0, 0, 0}, event());
        log = capture.text();
    }
    std::vector<std::string> lines;
    std::istringstream in(log);
    for (std::string l; std::getline(in, l);)
        if (l.find(" hook ") != std::string::npos)
            lines.push_back(l);
    EXPECT_EQ(lines, (std::vector<std::string>{
                         "warning hook bad: | no zone",
                         "warning hook bad: domain_failover attempt 1: failure (exit 4)",
                         "info hook good: | promoted",
                         "info hook good: domain_failover attempt 1: success (exit 0)"}))
        << log;
}

TEST(HookRunner, MissingProgramIsAFailureNotACrash) {
    auto runs = run_hook({"missing", {"/nonexistent/hook"}, 5, 0, 0, 0}, event());
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].result, "failure");
    EXPECT_EQ(runs[0].exit_status, 127);
}

} // namespace
} // namespace mxs
