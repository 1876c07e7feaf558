// nsnet lab ls: the labs of this user, with their size and state.

#include <cstdio>
#include <cstring>
#include <ctime>

#include <nlohmann/json.hpp>

#include "lab/lab_verbs.hpp"

namespace nsnet::lab {

namespace {

constexpr const char* kLsUsage =
    "Usage: nsnet lab ls [--json]\n\n"
    "Lists the labs: name, status (up; building while `up` runs; broken when an `up` was\n"
    "interrupted: remove it with `nsnet lab down`), pods, started processes, creation time.\n";

std::string status_of(const std::string& name, const std::optional<LabRecord>& record) {
  if (LabDir::busy(name)) return "busy";
  if (record && record->status == LabStatus::kUp) return "up";
  return "broken";
}

}  // namespace

int ls_verb(int argc, char** argv) {
  bool as_json = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) {
      as_json = true;
    } else if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--help") == 0) {
      std::fputs(kLsUsage, stdout);
      return 0;
    } else {
      std::fprintf(stderr, "nsnet lab ls: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  nlohmann::json labs = nlohmann::json::array();
  if (!as_json) std::printf("%-12s %-7s %5s %9s  %s\n", "NAME", "STATUS", "PODS", "PROCESSES", "CREATED");
  for (const auto& name : LabDir::list()) {
    const auto record = LabDir::peek(name);
    const std::string status = status_of(name, record);
    const std::size_t pods = record ? record->pods.size() : 0;
    const std::size_t processes = record ? record->processes.size() : 0;
    const std::time_t created = record ? static_cast<std::time_t>(record->created) : 0;
    char when[32] = "-";
    if (created != 0) {
      std::tm tm{};
      ::localtime_r(&created, &tm);
      std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    }
    if (as_json) {
      labs.push_back({{"name", name}, {"status", status}, {"pods", pods},
                      {"processes", processes}, {"created", record ? record->created : 0},
                      {"rootless", record && record->rootless},
                      {"path", LabDir::path_of(name).string()}});
    } else {
      std::printf("%-12s %-7s %5zu %9zu  %s\n", name.c_str(), status.c_str(), pods, processes, when);
    }
  }
  if (as_json) std::printf("%s\n", labs.dump(2).c_str());
  return 0;
}

}  // namespace nsnet::lab
