#pragma once

// The fixture of the `nsnet lab` tests: nsnet runs in the test's "host" namespace, as a user
// would, and every lab it builds lives in namespaces of its own below the test's private /run.
// A lab must leave nothing behind in the host: the snapshot adds to nsnet run's the lab state
// files and every mount under the lab directory.

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/nsnet_run_fixture.hpp"

namespace nsnet::testing {

inline const std::filesystem::path kLabRoot = "/run/nsnet-lab";
inline const std::filesystem::path kLabExamples = NSNET_CONF_DIR "/lab";

// What a lab may leave on disk and in the mount table: nothing, once it is down.
[[nodiscard]] inline std::string lab_leftovers(const std::filesystem::path& root) {
  std::string out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    out += "file " + it->path().string() + "\n";
  std::ifstream mounts("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mounts, line))
    if (line.find(root.string()) != std::string::npos) out += "mount " + line + "\n";
  return out;
}

class NsnetLabTest : public NsnetRunTest {
 protected:
  void TearDown() override {
    // A failed test may leave its lab up.
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(kLabRoot, ec))
      (void)nsnet({"lab", "down", entry.path().filename().string()});
    NsnetRunTest::TearDown();
  }

  [[nodiscard]] std::string lab_snapshot() { return snapshot() + lab_leftovers(kLabRoot); }

  // Writes a topology into the test's directory and returns its path.
  [[nodiscard]] std::string topology_file(const nlohmann::json& topology) {
    const auto path = temp_dir() / (topology.value("name", "lab") + ".json");
    std::ofstream(path) << topology.dump(2);
    return path.string();
  }

  // nsnet lab exec LAB WHERE -- bash -c SCRIPT.
  CliResult lab_exec(const std::string& lab, const std::string& where, const std::string& script) {
    return nsnet({"lab", "exec", lab, where, "--", "bash", "-c", script});
  }
};

}  // namespace nsnet::testing
