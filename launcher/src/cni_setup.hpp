#pragma once

// Where the launcher's CNI configuration and plugins come from, shared by `nsnet run` and
// `nsnet net`: the config dir, the plugin search path, and finding a network by name or file.

#include <filesystem>
#include <string>
#include <vector>

#include <netcore/cni/conflist.hpp>

namespace nsnet {

// The network `nsnet run` attaches as root when no --network is given.
inline constexpr const char* kDefaultNetworkName = "nsnet";

// $NETCONFPATH (cnitool's variable), else /etc/cni/net.d.
[[nodiscard]] std::filesystem::path cni_conf_dir();

// The plugin search path: `cli` (each entry may itself be a colon-separated list), then $CNI_PATH,
// then /opt/cni/bin, then the plugins installed with nsnet, then the build tree's.
[[nodiscard]] std::vector<std::string> cni_plugin_path(const std::vector<std::string>& cli);

// The runner for that path: plugins get the launcher's environment without its CNI_* variables
// (the runtime sets those per call).
[[nodiscard]] netcore::cni::PluginRunner cni_plugin_runner(std::vector<std::string> path);

// A network given on the command line: a file when `spec` names one (it contains a '/' or ends in
// .conflist, .conf or .json), else a network name looked up in `conf_dir` like libcni does. The
// default network is also compiled in and used when the config dir does not define it. Throws
// Error(kInvalidNetworkConfig) "network NAME not found in DIR" or what loading throws.
[[nodiscard]] netcore::cni::NetworkList find_network_spec(const std::string& spec,
                                                          const std::filesystem::path& conf_dir);

}  // namespace nsnet
