// nsnet stop: SIGTERM to a container's supervisor (which forwards it and tears down), SIGKILL
// after a grace period, then gc of whatever a killed supervisor left.

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "state/container_state.hpp"
#include "state/teardown.hpp"

namespace nsnet {

namespace {

bool wait_until_gone(const std::string& id, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::filesystem::exists(StateDir::root() / id)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// Gone already, or torn down now (its supervisor was killed).
bool collect(const std::string& id) {
  return collect_abandoned_container(id, "stop") ||
         !std::filesystem::exists(StateDir::root() / id);
}

}  // namespace

int stop_command(int argc, char** argv) {
  CLI::App app("Stop containers: SIGTERM (forwarded to the command), SIGKILL after the timeout; "
               "their networks are torn down.",
               "nsnet stop");
  std::vector<std::string> ids;
  double timeout_seconds = 10;
  app.add_option("ID", ids, "the containers (see nsnet ps)")->required();
  app.add_option("-t,--time", timeout_seconds, "seconds to wait before SIGKILL")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  int status = 0;
  for (const auto& id : ids) {
    const auto state = StateDir::load(id);
    if (!state) {
      std::fprintf(stderr, "nsnet stop: no container %s\n", id.c_str());
      status = 1;
      continue;
    }
    if (StateDir::is_running(id)) {
      ::kill(state->supervisor_pid, SIGTERM);
      const auto grace = std::chrono::milliseconds(static_cast<long>(timeout_seconds * 1000));
      if (!wait_until_gone(id, grace)) {
        ::kill(state->supervisor_pid, SIGKILL);  // its child follows (PDEATHSIG)
        wait_until_gone(id, std::chrono::milliseconds(200));
      }
    }
    if (!collect(id)) {
      std::fprintf(stderr, "nsnet stop: %s did not stop\n", id.c_str());
      status = 1;
    }
  }
  return status;
}

}  // namespace nsnet
