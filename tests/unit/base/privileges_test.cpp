// Least privilege (privileges.h): accounts by name and number, the agent's drop (in a forked
// child, so the test keeps its own capabilities), and what a hook gets.
#include "actions/hook_runner.h"
#include "base/privileges.h"

#include <cstdint>
#include <fstream>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <map>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace mxs {
namespace {

// The capability sets, NoNewPrivs and uids of a /proc/PID/status text.
std::map<std::string, std::string> status_fields(const std::string& text) {
    std::map<std::string, std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (const auto colon = line.find(':'); colon != std::string::npos) {
            auto v = line.substr(colon + 1);
            v.erase(0, v.find_first_not_of(" \t"));
            out[line.substr(0, colon)] = v;
        }
    return out;
}

std::string self_status() {
    std::ifstream in("/proc/self/status");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

bool has_cap(const std::string& hex, unsigned cap) {
    return (std::stoull(hex, nullptr, 16) >> cap) & 1;
}

constexpr const char* kNone = "0000000000000000";

TEST(Privileges, ResolvesUsersAndGroupsByNameAndNumber) {
    auto root = resolve_run_as("root", "");
    ASSERT_TRUE(root) << root.error();
    EXPECT_EQ(root->uid, 0u);
    EXPECT_EQ(root->gid, 0u);
    EXPECT_EQ(root->group, "root");
    auto by_number = resolve_run_as("0", "0");
    ASSERT_TRUE(by_number) << by_number.error();
    EXPECT_EQ(by_number->user, "root");
    EXPECT_EQ(by_number->group, "root");
    auto nobody = resolve_run_as("nobody", "nogroup");
    ASSERT_TRUE(nobody) << nobody.error();
    EXPECT_EQ(nobody->uid, 65534u);
    EXPECT_EQ(nobody->group, "nogroup");
    EXPECT_EQ(resolve_run_as("pv-no-such-user", "").error(),
              "user 'pv-no-such-user': no such user");
    EXPECT_EQ(resolve_run_as("root", "pv-no-such-group").error(),
              "group 'pv-no-such-group': no such group");
    EXPECT_EQ(resolve_run_as("4294967", "").error(), "user '4294967': no such user");
}

TEST(Privileges, CapabilityNames) {
    EXPECT_EQ(capability_names({}), "none");
    EXPECT_EQ(capability_names({CAP_NET_ADMIN, CAP_BPF}), "CAP_NET_ADMIN, CAP_BPF");
}

// Runs f in a forked child; its exit code (f's result), 255 if it died otherwise.
template <class F> int in_child(F f) {
    const pid_t pid = fork();
    if (pid == 0)
        _exit(f());
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

TEST(Privileges, DropKeepsOnlyWhatIsAsked) {
    if (!has_cap(status_fields(self_status())["CapEff"], CAP_SETPCAP))
        GTEST_SKIP() << "needs root (CAP_SETPCAP)";
    // Nothing kept: every set empty, no_new_privs, still uid 0.
    EXPECT_EQ(in_child([] {
                  auto d = drop_privileges({}, std::nullopt);
                  if (!d || !d->kept.empty() || !d->bounding_cleared || d->uid != 0)
                      return 1;
                  auto f = status_fields(self_status());
                  for (const char* k : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
                      if (f[k] != kNone)
                          return 2;
                  return f["NoNewPrivs"] == "1" && f["Uid"] == "0\t0\t0\t0" ? 0 : 3;
              }),
              0);
    // CAP_NET_ADMIN kept across a switch to nobody; the bounding set empty all the same.
    EXPECT_EQ(in_child([] {
                  auto d = drop_privileges({CAP_NET_ADMIN}, *resolve_run_as("nobody", ""));
                  if (!d || d->kept != std::vector<unsigned>{CAP_NET_ADMIN} || d->uid != 65534)
                      return 1;
                  auto f = status_fields(self_status());
                  const std::string net_admin = "0000000000001000";
                  if (f["CapEff"] != net_admin || f["CapPrm"] != net_admin ||
                      f["CapInh"] != kNone || f["CapBnd"] != kNone || f["CapAmb"] != kNone)
                      return 2;
                  if (f["Groups"] != "65534" && f["Groups"] != "65534 ")
                      return 3;
                  return f["NoNewPrivs"] == "1" && f["Uid"] == "65534\t65534\t65534\t65534" ? 0 : 4;
              }),
              0);
    // A user switch without CAP_SETUID is refused, naming it.
    EXPECT_EQ(in_child([] {
                  auto first = drop_privileges({}, std::nullopt);
                  if (!first)
                      return 1;
                  auto d = drop_privileges({}, *resolve_run_as("nobody", ""));
                  return !d && d.error().find("user 'nobody': switching to uid 65534 needs root, "
                                              "or CAP_SETUID and CAP_SETGID") == 0
                             ? 0
                             : 2;
              }),
              0);
}

TEST(Privileges, HooksRunWithNothingAndNoNewPrivs) {
    const bool setpcap = has_cap(status_fields(self_status())["CapEff"], CAP_SETPCAP);
    boost::asio::io_context io;
    HookRunner r(io, {"status", {"/bin/cat", "/proc/self/status"}, 5, 0, 0, 0});
    std::vector<HookRun> runs;
    r.on_run = [&](const HookRun& run) { runs.push_back(run); };
    r.fire({"target_down", "", "t", "", "", "DOWN", ""});
    io.run();
    ASSERT_EQ(runs.size(), 1u);
    ASSERT_EQ(runs[0].result, "success") << runs[0].output;
    auto f = status_fields(runs[0].output);
    for (const char* k : {"CapInh", "CapPrm", "CapEff", "CapAmb"})
        EXPECT_EQ(f[k], kNone) << k;
    if (setpcap) { // without CAP_SETPCAP the bounding set cannot shrink (nor matter: no_new_privs)
        EXPECT_EQ(f["CapBnd"], kNone);
    }
    EXPECT_EQ(f["NoNewPrivs"], "1");
}

} // namespace
} // namespace mxs
