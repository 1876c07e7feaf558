// nsnet gc: cleans up after supervisors that were killed: their containers' networks and state,
// result-cache entries whose process is gone, then CNI GC of the networks involved with the
// attachments that are still valid.

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>

#include <CLI/CLI.hpp>
#include <netcore/base/file.hpp>
#include <nlohmann/json.hpp>
#include <netcore/cni/runtime.hpp>

#include "cni_setup.hpp"
#include "commands.hpp"
#include "state/container_state.hpp"
#include "state/teardown.hpp"

namespace nsnet {

namespace cni = netcore::cni;
namespace fs = std::filesystem;

namespace {

// A namespace path of a process ("/proc/PID/ns/net") whose process has ended. Checked on the
// namespace link, not /proc/PID: a zombie keeps /proc/PID until it is reaped (never, under an
// init that does not reap), but its namespaces were released when it exited.
bool process_is_gone(const std::string& netns) {
  static const std::regex proc_netns(R"(/proc/(\d+)/(task/\d+/)?ns/net)");
  if (!std::regex_match(netns, proc_netns)) return false;
  struct stat st {};
  return ::stat(netns.c_str(), &st) != 0 && errno == ENOENT;
}

}  // namespace

int gc_command(int argc, char** argv) {
  CLI::App app("Clean up after nsnet supervisors that were killed: DEL their networks, remove "
               "their state and persisted namespaces, DEL cached attachments whose process is "
               "gone, and send CNI GC to the networks involved.",
               "nsnet gc");
  std::vector<std::string> cni_path;
  app.add_option("--cni-path", cni_path, "where plugins are (then $CNI_PATH, /opt/cni/bin, ...)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  // The networks to GC afterwards, by name, with the list text to run them.
  std::map<std::string, std::string> networks;
  std::set<std::string> live_ids;
  for (const auto& id : StateDir::list_ids()) {
    const auto state = StateDir::load(id);
    if (!state) continue;
    for (const auto& n : state->networks) networks.emplace(n.network, n.conflist);
    if (StateDir::is_running(id)) live_ids.insert(id);
  }
  for (const auto& id : collect_abandoned_containers()) std::printf("removed %s\n", id.c_str());

  const cni::Runtime runtime(cni_plugin_runner(cni_plugin_path(cni_path)), cni::ResultCache());
  int status = 0;
  // Cached attachments, of any network, whose process is gone (what a killed nsnet, or a reboot
  // that emptied /run, leaves behind).
  std::set<std::string> cached_networks;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(runtime.cache().dir(), ec)) {
    const auto text = netcore::find_file_content(entry.path());
    const auto j = nlohmann::json::parse(text.value_or(""), nullptr, false);
    if (j.is_object() && !j.value("networkName", "").empty())
      cached_networks.insert(j.value("networkName", ""));
  }
  for (const auto& name : cached_networks) {
    for (const auto& cached : runtime.cache().list(name)) {
      if (live_ids.contains(cached.container_id) || !process_is_gone(cached.netns)) continue;
      try {
        const auto list = cni::NetworkList::parse(cached.config);
        runtime.del(list, cni::RuntimeConf{.container_id = cached.container_id,
                                           .netns = "",
                                           .ifname = cached.ifname,
                                           .args = cached.cni_args,
                                           .capability_args = cached.capability_args});
        networks.emplace(name, cached.config);
        std::printf("removed %s (%s, %s)\n", cached.container_id.c_str(), name.c_str(),
                    cached.ifname.c_str());
      } catch (const std::exception& error) {
        std::fprintf(stderr, "nsnet gc: %s %s: %s\n", name.c_str(), cached.container_id.c_str(),
                     error.what());
        status = 1;
      }
    }
  }
  // CNI GC: everything still cached (and every live container's attachments) stays.
  for (const auto& [name, text] : networks) {
    try {
      const auto list = cni::NetworkList::parse(text);
      std::vector<cni::Attachment> valid;
      for (const auto& cached : runtime.cache().list(name))
        valid.push_back({.container_id = cached.container_id, .ifname = cached.ifname});
      for (const auto& id : live_ids)
        if (const auto state = StateDir::load(id))
          for (const auto& n : state->networks)
            if (n.network == name) valid.push_back({.container_id = id, .ifname = n.ifname});
      runtime.gc(list, valid);
    } catch (const std::exception& error) {
      std::fprintf(stderr, "nsnet gc: network %s: %s\n", name.c_str(), error.what());
      status = 1;
    }
  }
  return status;
}

}  // namespace nsnet
