#include "cni_setup.hpp"

#include <cstdlib>
#include <string_view>

#include <netcore/base/error.hpp>
#include <netcore/cni/cmd_args.hpp>
#include <netcore/proc/process.hpp>

#include "default_network.hpp"

namespace nsnet {

namespace cni = netcore::cni;
namespace fs = std::filesystem;

namespace {

bool names_a_file(const std::string& spec) {
  return spec.find('/') != std::string::npos || spec.ends_with(".conflist") ||
         spec.ends_with(".conf") || spec.ends_with(".json");
}

}  // namespace

fs::path cni_conf_dir() {
  const char* dir = std::getenv("NETCONFPATH");
  return dir != nullptr && *dir != '\0' ? fs::path(dir) : fs::path("/etc/cni/net.d");
}

std::vector<std::string> cni_plugin_path(const std::vector<std::string>& cli) {
  std::vector<std::string> path;
  auto append = [&path](std::string_view list) {
    for (auto& dir : cni::split_path(list)) path.push_back(std::move(dir));
  };
  for (const auto& entry : cli) append(entry);
  if (const char* env = std::getenv("CNI_PATH"); env != nullptr) append(env);
  path.emplace_back("/opt/cni/bin");
  if (std::string_view(NSNET_INSTALLED_PLUGIN_DIR) != "/opt/cni/bin")
    path.emplace_back(NSNET_INSTALLED_PLUGIN_DIR);
  path.emplace_back(NSNET_BUILD_PLUGIN_DIR);
  return path;
}

cni::PluginRunner cni_plugin_runner(std::vector<std::string> path) {
  auto env = netcore::proc::current_environment();
  std::erase_if(env, [](const auto& kv) { return kv.first.starts_with("CNI_"); });
  return cni::PluginRunner{.path = std::move(path), .env = std::move(env)};
}

std::vector<fs::path> installed_conf_dirs() {
  std::vector<fs::path> dirs;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back((exe.parent_path() / NSNET_CONF_DIR_FROM_BINDIR).lexically_normal());
  const fs::path configured = NSNET_INSTALLED_CONF_DIR;
  if (dirs.empty() || dirs.front() != configured) dirs.push_back(configured);
  return dirs;
}

cni::NetworkList find_network_spec(const std::string& spec, const fs::path& conf_dir,
                                   const std::vector<fs::path>& installed_dirs) {
  if (names_a_file(spec)) return cni::NetworkList::load(spec);
  std::error_code ec;
  if (fs::is_directory(conf_dir, ec)) {
    if (auto list = cni::find_network(conf_dir, spec)) return *std::move(list);
  }
  if (spec == kDefaultNetworkName) {
    for (const auto& dir : installed_dirs) {
      if (!fs::is_directory(dir, ec)) continue;
      if (auto list = cni::find_network(dir, spec)) return *std::move(list);
    }
    return cni::NetworkList::parse(kDefaultNetworkConflist);
  }
  throw netcore::Error(netcore::ErrorCode::kInvalidNetworkConfig,
                       "network " + spec + " not found in " + conf_dir.string());
}

}  // namespace nsnet
