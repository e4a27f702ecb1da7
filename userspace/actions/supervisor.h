// The supervisor of one hook attempt (hook_runner.h: containment): a fork of the agent that
// never execs, a child subreaper that forks and execs the hook, waits for its main process,
// then kills and reaps whatever the hook left before it exits.
#pragma once

#include <signal.h>
#include <string>
#include <sys/types.h>
#include <vector>

namespace mxs {

// Seconds a hook has to end after SIGTERM when the agent stops, before SIGKILL.
inline constexpr double kHookStopGraceS = 5;

// The agent asks an attempt's supervisor to kill it at once (the timeout) with this signal;
// SIGTERM asks for a graceful stop (SIGTERM first, SIGKILL kHookStopGraceS later).
inline constexpr int kKillNow = SIGUSR1;

// Forks the supervisor of an attempt of argv (environment env, stdout and stderr to out_fd;
// the hook's wait status is written to status_fd, nothing when it could not be forked).
// Returns its pid, or -1 when fork failed (errno set).
pid_t spawn_supervisor(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                       int out_fd, int status_fd);

} // namespace mxs
