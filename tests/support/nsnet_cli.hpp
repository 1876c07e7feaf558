#pragma once

// Runs the built `nsnet` binary the way a user would, but inside a test's own "host" network
// namespace: a forked child joins the netns (and, for rootless tests, a private mount namespace
// with files bound over /etc, and another user's credentials) and execs nsnet. Output goes to
// memfds, so a test can read what a still-running nsnet printed without pipes that could fill up.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "netcore/base/unique_fd.hpp"
#include "netcore/net/netns.hpp"

namespace nsnet::testing {

// The sanitizer build's nsnet is several times slower: every timeout in these tests scales
// (kSlowdown > 1 also tells the tests that nsnet is the sanitizer build's).
#ifdef NSNET_SANITIZER_BUILD
inline constexpr int kSlowdown = 4;
#else
inline constexpr int kSlowdown = 1;
#endif

[[nodiscard]] inline std::chrono::milliseconds scaled(std::chrono::milliseconds timeout) {
  return timeout * kSlowdown;
}

// How to start nsnet, beyond its arguments.
struct Invocation {
  std::vector<std::string> args;
  // The complete environment (see NsnetRunTest::environment()).
  std::map<std::string, std::string> env;
  // Run with these credentials (setresgid/setresuid, no supplementary groups): every capability
  // is dropped with the uid change.
  std::optional<std::pair<uid_t, gid_t>> credentials;
  // Files bound over others (source, target) in a private mount namespace made for this process.
  std::vector<std::pair<std::filesystem::path, std::filesystem::path>> bind_mounts;
  // Run nsnet as the leader of a new process group (pgid = its pid), which the plugins it execs
  // join, so that signal_group() reaches the runtime and whatever it is running at once.
  bool own_process_group = false;
};

// What a finished nsnet did. `status` is what a shell reports: the exit code or 128+N.
struct CliResult {
  int status = -1;
  std::string out;
  std::string err;
};

// A started nsnet process (a direct child of the test). Not thread-safe. The destructor
// SIGKILLs and reaps it if it is still running, so a failing test leaves no supervisor behind.
class NsnetProcess final {
 public:
  // Forks and execs `nsnet` inside `netns`. Fails the test (and returns an empty process) if the
  // fork fails.
  [[nodiscard]] static NsnetProcess start(const netcore::net::Netns& netns,
                                          const Invocation& invocation);

  NsnetProcess(NsnetProcess&& other) noexcept;
  NsnetProcess& operator=(NsnetProcess&&) = delete;
  ~NsnetProcess();

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  // Sends `signo` to nsnet itself (only while it has not been reaped).
  void signal(int signo) const;
  // Sends `signo` to nsnet's process group (Invocation::own_process_group): nsnet and the
  // plugins it runs. Only while nsnet has not been reaped, so the group id cannot be reused.
  void signal_group(int signo) const;
  // What it wrote so far.
  [[nodiscard]] std::string out() const;
  [[nodiscard]] std::string err() const;
  // Waits until stdout contains `text`; false after `timeout` or once nsnet has ended without it.
  [[nodiscard]] bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout);
  // Waits for nsnet to end. After `timeout` it is SIGKILLed, the test fails, and the result has
  // status -1.
  CliResult wait(std::chrono::milliseconds timeout);
  // Whether it has ended (and been reaped).
  [[nodiscard]] bool finished();

 private:
  NsnetProcess(pid_t pid, netcore::UniqueFd out, netcore::UniqueFd err)
      : pid_(pid), out_(std::move(out)), err_(std::move(err)) {}
  bool reap(bool block);

  pid_t pid_ = -1;
  int wait_status_ = 0;
  bool reaped_ = false;
  netcore::UniqueFd out_;
  netcore::UniqueFd err_;
};

// Starts nsnet and waits for it.
[[nodiscard]] CliResult run_nsnet(const netcore::net::Netns& netns, const Invocation& invocation,
                                  std::chrono::milliseconds timeout);

// The absolute path of the built nsnet.
[[nodiscard]] std::filesystem::path nsnet_binary();

}  // namespace nsnet::testing
