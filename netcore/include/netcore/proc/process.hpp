#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace netcore::proc {

using Environment = std::map<std::string, std::string>;

// One run of an external program (a delegated CNI plugin, a helper tool) to completion.
struct RunRequest {
  std::filesystem::path program;
  std::vector<std::string> args;   // argv[1..]
  Environment env;                 // the complete environment of the child
  std::string input;               // written to its stdin, which is then closed
  std::chrono::milliseconds timeout{0};  // 0 = wait forever; else SIGKILL when it runs out
};

struct RunResult {
  int exit_code = 0;               // meaningful when signal == 0
  int signal = 0;                  // the signal that ended the child, or 0
  bool timed_out = false;          // killed because the timeout ran out
  std::string out;
  std::string err;

  [[nodiscard]] bool succeeded() const noexcept { return signal == 0 && exit_code == 0; }
  // "exit status 3", "killed by signal 9", "timed out after 100 ms"
  [[nodiscard]] std::string describe() const;
};

// Runs the program with exactly `env`, collects stdout and stderr, and waits for it. The child
// inherits no descriptor but its three standard ones (netns fds, IPAM locks and sockets stay
// here). Throws Error(kInternal) if the program cannot be started.
[[nodiscard]] RunResult run(const RunRequest& request);

// The calling process's environment as a map.
[[nodiscard]] Environment current_environment();

}  // namespace netcore::proc
