// nsnet lab down, and what every verb on an existing lab shares: opening it and removing it.

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include <netcore/base/error.hpp>

#include "lab/lab_keeper.hpp"
#include "lab/lab_processes.hpp"
#include "lab/lab_verbs.hpp"

namespace nsnet::lab {

namespace {

constexpr const char* kDownUsage =
    "Usage: nsnet lab down LAB\n\n"
    "Removes the lab LAB: ends the processes in its nodes and pods, deletes its namespaces (and\n"
    "with them every link, address, route and firewall rule in them) and its state. Works on a\n"
    "lab whose `up` was interrupted too.\n";

constexpr auto kGrace = std::chrono::milliseconds(2000);

}  // namespace

void tear_down(const LabDir& dir, const std::optional<LabRecord>& record) {
  end_lab_processes(dir, record ? record->processes : std::vector<LabProcess>{}, kGrace);
  // A rootless lab's namespaces go with its keeper's user and mount namespaces.
  if (record && record->keeper && netcore::proc::process_alive(record->keeper->id))
    ::kill(record->keeper->id.pid, SIGKILL);
  dir.remove();
}

std::optional<OpenLab> open_lab(const char* verb, const std::string& name) {
  auto dir = LabDir::open(name, false);
  if (!dir) {
    std::fprintf(stderr, "nsnet lab %s: no lab named %s\n", verb, name.c_str());
    return std::nullopt;
  }
  auto record = dir->load();
  if (!record) {
    std::fprintf(stderr, "nsnet lab %s: lab %s has no state (its `up` was killed early; run "
                         "'nsnet lab down %s')\n", verb, name.c_str(), name.c_str());
    return std::nullopt;
  }
  if (record->keeper) enter_keeper(record->keeper->id);
  return OpenLab{std::move(*dir), std::move(*record)};
}

int down_verb(int argc, char** argv) {
  if (argc == 2 && (std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0)) {
    std::fputs(kDownUsage, stdout);
    return 0;
  }
  if (argc != 2 || argv[1][0] == '-') {
    std::fputs(kDownUsage, stderr);
    return 2;
  }
  const std::string name = argv[1];
  try {
    auto dir = LabDir::open(name, false);
    if (!dir) {
      std::fprintf(stderr, "nsnet lab down: no lab named %s\n", name.c_str());
      return 1;
    }
    const auto record = dir->load();
    // The namespaces of a rootless lab are mounted in its keeper's mount namespace only.
    if (record && record->keeper && netcore::proc::process_alive(record->keeper->id))
      enter_keeper(record->keeper->id);
    tear_down(*dir, record);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nsnet lab down: %s: %s\n", name.c_str(), e.what());
    return 1;
  }
}

}  // namespace nsnet::lab
