// nsnet-cni: every nsnet plugin in one executable, chosen by the name it runs as
// (argv[0] = ".../loopback" runs the loopback plugin).

#include <cstdio>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include <netcore/cni/skel.hpp>

#include "bandwidth/bandwidth.hpp"
#include "bridge/bridge.hpp"
#include "firewall/firewall.hpp"
#include "host-device/host_device.hpp"
#include "host-local/host_local.hpp"
#include "loopback/loopback.hpp"
#include "macvlan/macvlan.hpp"
#include "portmap/portmap.hpp"
#include "ptp/ptp.hpp"
#include "slirp4netns/slirp4netns.hpp"
#include "static/static_ipam.hpp"
#include "tap/tap.hpp"
#include "tuning/tuning.hpp"

namespace {

struct Entry {
  std::string_view name;
  netcore::cni::PluginSpec (*spec)();
};

constexpr Entry kPlugins[] = {
    {"bandwidth", plugins::bandwidth::spec},
    {"bridge", plugins::bridge::spec},
    {"firewall", plugins::firewall::spec},
    {"host-device", plugins::host_device::spec},
    {"host-local", plugins::host_local::spec},
    {"loopback", plugins::loopback::spec},
    {"macvlan", plugins::macvlan::spec},
    {"portmap", plugins::portmap::spec},
    {"ptp", plugins::ptp::spec},
    {"slirp4netns", plugins::slirp4netns::spec},
    {"static", plugins::static_ipam::spec},
    {"tap", plugins::tap::spec},
    {"tuning", plugins::tuning::spec},
};

// A delegated plugin (the IPAM of a main plugin) that is built in: built on first use only, so a
// plugin that delegates nothing pays nothing.
const netcore::cni::PluginSpec* find_builtin(std::string_view name) {
  static const auto specs = [] {
    std::vector<std::pair<std::string_view, netcore::cni::PluginSpec>> all;
    for (const auto& entry : kPlugins) all.emplace_back(entry.name, entry.spec());
    return all;
  }();
  for (const auto& [plugin, spec] : specs)
    if (plugin == name) return &spec;
  return nullptr;
}

std::string_view base_name(const char* path) {
  const char* slash = std::strrchr(path, '/');
  return slash != nullptr ? slash + 1 : path;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view name = base_name(argc > 0 ? argv[0] : "");
  for (const auto& entry : kPlugins) {
    if (entry.name != name) continue;
    auto spec = entry.spec();
    spec.builtins = find_builtin;
    return netcore::cni::plugin_main(spec);
  }
  std::fprintf(stderr, "nsnet-cni: run as \"%.*s\", which is no plugin; run it through a link named:",
               static_cast<int>(name.size()), name.data());
  for (const auto& entry : kPlugins)
    std::fprintf(stderr, " %.*s", static_cast<int>(entry.name.size()), entry.name.data());
  std::fputc('\n', stderr);
  return 1;
}
