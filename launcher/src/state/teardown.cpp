#include "state/teardown.hpp"

#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include <netcore/base/error.hpp>
#include <netcore/cni/runtime.hpp>
#include <netcore/proc/daemon.hpp>

#include "cni_setup.hpp"

namespace nsnet {

namespace cni = netcore::cni;

void unpersist_namespace(const std::string& path) noexcept {
  ::umount2(path.c_str(), MNT_DETACH);
}

std::vector<std::string> tear_down(const ContainerState& state, const StateDir& dir) {
  std::vector<std::string> failures;
  // The helper first: nothing may forward into the container while it goes away.
  if (state.helper)
    netcore::proc::stop_process({state.helper->pid, state.helper->start_time},
                                std::chrono::milliseconds(1000));
  // The saved path is already complete (run resolved it): resolving it again would append
  // $CNI_PATH and the default dirs a second time.
  const cni::Runtime runtime(
      cni_plugin_runner(state.cni_path.empty() ? cni_plugin_path({}) : state.cni_path),
      cni::ResultCache());
  for (auto it = state.networks.rbegin(); it != state.networks.rend(); ++it) {
    try {
      const auto list = cni::NetworkList::parse(it->conflist);
      const cni::RuntimeConf rt{.container_id = state.id,
                                .netns = "",
                                .ifname = it->ifname,
                                .capability_args = {{"portMappings", state.port_mappings}}};
      runtime.del(list, rt);
    } catch (const std::exception& error) {
      failures.push_back("network " + it->network + " (" + it->ifname + "): " + error.what());
    }
  }
  for (const auto& path : state.persisted) unpersist_namespace(path);
  for (const auto& path : state.created_files) ::unlink(path.c_str());
  dir.remove();
  return failures;
}

bool collect_abandoned_container(const std::string& id, const std::string& context) {
  auto dir = StateDir::lock_if_abandoned(id);
  if (!dir) return false;
  if (const auto state = StateDir::load(id)) {
    for (const auto& failure : tear_down(*state, *dir))
      std::fprintf(stderr, "nsnet: %s %s: %s\n", context.c_str(), id.c_str(), failure.c_str());
  } else {
    dir->remove();  // a supervisor that died before its first save had attached nothing
  }
  return true;
}

std::vector<std::string> collect_abandoned_containers() {
  std::vector<std::string> collected;
  for (const auto& id : StateDir::list_ids())
    if (collect_abandoned_container(id, "gc")) collected.push_back(id);
  return collected;
}

}  // namespace nsnet
