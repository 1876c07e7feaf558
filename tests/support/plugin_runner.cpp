#include "support/plugin_runner.hpp"

#include <chrono>

#include <gtest/gtest.h>

#include "netcore/proc/process.hpp"

namespace nsnet::testing {

std::filesystem::path plugin_dir() { return NSNET_PLUGIN_DIR; }

nlohmann::json PluginRun::json() const {
  try {
    return nlohmann::json::parse(out);  // throws on trailing content: exactly one document
  } catch (const nlohmann::json::exception& e) {
    ADD_FAILURE() << "stdout is not one JSON document (" << e.what() << "): " << out;
    return {};
  }
}

PluginRun exec_plugin(const std::filesystem::path& dir, const std::string& type,
                      const std::string& command, const std::map<std::string, std::string>& env,
                      const std::string& config) {
  netcore::proc::RunRequest request;
  request.program = dir / type;
  request.env = env;
  request.env["CNI_COMMAND"] = command;
  request.env.emplace("CNI_PATH", dir.string());
  request.input = config;
  request.timeout = std::chrono::seconds(20);
  const auto result = netcore::proc::run(request);
  EXPECT_FALSE(result.timed_out) << request.program << " " << command;
  EXPECT_EQ(result.signal, 0) << request.program << " " << command << ": " << result.err;
  return {result.exit_code, result.out, result.err};
}

}  // namespace nsnet::testing
