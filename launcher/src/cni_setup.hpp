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
// then /opt/cni/bin, then where nsnet installs its plugins (NSNET_CNI_BIN_DIR, when configured
// elsewhere than /opt/cni/bin), then the build tree's.
[[nodiscard]] std::vector<std::string> cni_plugin_path(const std::vector<std::string>& cli);

// The runner for that path: plugins get the launcher's environment without its CNI_* variables
// (the runtime sets those per call).
[[nodiscard]] netcore::cni::PluginRunner cni_plugin_runner(std::vector<std::string> path);

// Where an installed nsnet keeps its example networks and the default network's file: first
// ${datadir}/nsnet/conf relative to the running executable (so an install with another --prefix,
// a DESTDIR or the Debian package's /usr finds its own), then the configured
// ${CMAKE_INSTALL_FULL_DATADIR}/nsnet/conf when that differs.
[[nodiscard]] std::vector<std::filesystem::path> installed_conf_dirs();

// A network given on the command line: a file when `spec` names one (it contains a '/' or ends in
// .conflist, .conf or .json), else a network name looked up in `conf_dir` like libcni does. The
// default network ("nsnet") alone is also looked up in `installed_dirs`, in order, when
// `conf_dir` does not define it, and is finally compiled in; nsnet never installs it into a CNI
// config dir, where every runtime on the machine would pick it up. Throws
// Error(kInvalidNetworkConfig) "network NAME not found in DIR" or what loading throws.
[[nodiscard]] netcore::cni::NetworkList find_network_spec(
    const std::string& spec, const std::filesystem::path& conf_dir,
    const std::vector<std::filesystem::path>& installed_dirs = installed_conf_dirs());

}  // namespace nsnet
