#pragma once

#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace nsnet::testing {

// The directory holding the built plugins (nsnet-cni and its per-plugin links).
[[nodiscard]] std::filesystem::path plugin_dir();
// Debian's reference plugins, for differential tests.
inline const std::filesystem::path kReferencePluginDir = "/usr/lib/cni";

struct PluginRun {
  int exit_code = -1;
  std::string out;
  std::string err;

  // stdout parsed as exactly one JSON document; fails the test otherwise.
  [[nodiscard]] nlohmann::json json() const;
};

// One CNI call as a runtime makes it: execs `dir/type` with CNI_COMMAND and `env` (plus
// CNI_PATH=dir unless given) and `config` on stdin.
[[nodiscard]] PluginRun exec_plugin(const std::filesystem::path& dir, const std::string& type,
                                    const std::string& command,
                                    const std::map<std::string, std::string>& env,
                                    const std::string& config);

}  // namespace nsnet::testing
