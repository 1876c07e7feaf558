// nsnet net: a CNI runtime on the command line, compatible with cnitool (same verbs, arguments,
// environment and container IDs) and with libcni's result cache, so an attachment made here is
// seen by libcni-based runtimes and by `nsnet run`, and the other way round.

#include <sys/vfs.h>

#include <linux/magic.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <netcore/base/error.hpp>
#include <netcore/base/log.hpp>
#include <netcore/cni/json.hpp>
#include <netcore/cni/result_cache.hpp>
#include <netcore/cni/runtime.hpp>

#include "cni_setup.hpp"
#include "commands.hpp"
#include "net/net_env.hpp"

namespace nsnet {

namespace cni = netcore::cni;
namespace fs = std::filesystem;
using netcore::Error;
using netcore::ErrorCode;

namespace {

constexpr const char* kEnvironmentHelp = R"(
Environment (as cnitool reads it):
  NETCONFPATH      the CNI config dir searched for NETWORK (default /etc/cni/net.d)
  CNI_PATH         plugin dirs, ':'-separated (then /opt/cni/bin and nsnet's own plugins)
  CNI_IFNAME       the interface name in the container (default eth0)
  CNI_ARGS         "KEY=VALUE;KEY=VALUE" passed to every plugin
  CAP_ARGS         capability arguments as a JSON object, e.g. '{"portMappings":[...]}'
  CNI_CONTAINERID  the container ID (default: cnitool's, "cnitool-" + a hash of NETNS)
NETWORK is a network name in NETCONFPATH, or a .conflist/.conf/.json file.
Results are cached in CACHE_DIR/results/NETWORK-CONTAINERID-IFNAME, libcni's layout.)";

struct Options {
  std::string cache_dir = cni::ResultCache::kDefaultCacheDir.string();
  std::string network;
  std::string netns;
};

// Whether `path` is a mounted network namespace (a bind mount in /run/netns or a /proc/PID/ns/net
// of a live process), rather than a missing file or a stale empty one.
bool is_live_netns(const std::string& path) {
  struct statfs fs_info{};
  return !path.empty() && ::statfs(path.c_str(), &fs_info) == 0 &&
         static_cast<unsigned long>(fs_info.f_type) == NSFS_MAGIC;
}

class NetCommand {
 public:
  NetCommand(const Options& options, cni::NetworkList list)
      : list_(std::move(list)),
        runtime_(cni_plugin_runner(cni_plugin_path({})), cni::ResultCache(options.cache_dir)) {}

  // ADD; on failure the partial attachment is deleted again (spec: a failed ADD is followed by a
  // DEL), unless it existed before, which is refused up front instead.
  void add(const std::string& netns) {
    const auto rt = net::runtime_conf(net::NetEnv::from_process(), netns);
    if (runtime_.cache().load(list_.name, rt.container_id, rt.ifname))
      throw Error(ErrorCode::kInvalidNetworkConfig,
                  "network " + list_.name + " container " + rt.container_id + " ifname " +
                      rt.ifname + " is already attached (" +
                      runtime_.cache().path(list_.name, rt.container_id, rt.ifname).string() +
                      "); del it first");
    cni::Result result;
    try {
      result = runtime_.add(list_, rt);
    } catch (...) {
      try {
        runtime_.del(list_, rt);
      } catch (const std::exception& e) {
        netcore::log::warn("undo failed add: {}, ignoring", e.what());
      }
      throw;
    }
    std::cout << result.to_json(list_.cni_version).dump(4, ' ', false,
                                                        nlohmann::json::error_handler_t::replace)
              << '\n';
  }

  void check(const std::string& netns) { runtime_.check(list_, cached_attachment(netns)); }
  void del(const std::string& netns) { runtime_.del(list_, cached_attachment(netns)); }

  // The cached attachments whose netns still exists are valid; the others are deleted from their
  // cached netns, args and capability args, then GC goes to the plugins with the valid ones. An
  // entry that records no netns (libcni before 1.2 wrote none) cannot be judged and is kept.
  void gc() {
    std::vector<cni::Attachment> valid;
    for (const auto& entry : runtime_.cache().list(list_.name)) {
      if (entry.netns.empty() || is_live_netns(entry.netns))
        valid.push_back({.container_id = entry.container_id, .ifname = entry.ifname});
    }
    runtime_.gc(list_, valid);
  }

  void status() { runtime_.status(list_); }

 private:
  // The attachment CHECK and DEL address: CNI_ARGS and CAP_ARGS as given, and when a variable is
  // unset, what the cache recorded at ADD (CHECK and DEL must repeat ADD's arguments; this way a
  // port mapping is removed even when the caller no longer names it).
  cni::RuntimeConf cached_attachment(const std::string& netns) const {
    const auto env = net::NetEnv::from_process();
    auto rt = net::runtime_conf(env, netns);
    if (const auto cached = runtime_.cache().load(list_.name, rt.container_id, rt.ifname)) {
      if (!env.cni_args) rt.args = cached->cni_args;
      if (!env.cap_args) rt.capability_args = cached->capability_args;
    }
    return rt;
  }

  cni::NetworkList list_;
  cni::Runtime runtime_;
};

}  // namespace

int net_command(int argc, char** argv) {
  Options options;
  CLI::App app{"A CNI runtime: attach a network namespace to a network and detach it, like "
               "cnitool, with libcni's result cache.",
               "nsnet net"};
  app.footer(kEnvironmentHelp);
  app.add_option("--cache-dir", options.cache_dir, "the result cache's root")
      ->capture_default_str();
  app.require_subcommand(1);
  app.fallthrough();
  const auto attach_verb = [&](const char* name, const char* summary) {
    auto* verb = app.add_subcommand(name, summary);
    verb->add_option("NETWORK", options.network, "network name or config file")->required();
    verb->add_option("NETNS", options.netns, "network namespace path (may be \"\" for del)")
        ->required();
    return verb;
  };
  auto* add = attach_verb("add", "attach NETNS to NETWORK; prints the result");
  auto* check = attach_verb("check", "check the attachment against its cached result");
  auto* del = attach_verb("del", "detach NETNS from NETWORK");
  auto* gc = app.add_subcommand(
      "gc", "delete cached attachments whose netns is gone, then GC the plugins (1.1.0 lists)");
  gc->add_option("NETWORK", options.network, "network name or config file")->required();
  auto* status = app.add_subcommand("status", "ask the plugins whether they can ADD (1.1.0 lists)");
  status->add_option("NETWORK", options.network, "network name or config file")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  try {
    NetCommand command(options, find_network_spec(options.network, cni_conf_dir()));
    if (add->parsed()) command.add(options.netns);
    if (check->parsed()) command.check(options.netns);
    if (del->parsed()) command.del(options.netns);
    if (gc->parsed()) command.gc();
    if (status->parsed()) command.status();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nsnet net: %s\n", e.what());
  }
  return 1;
}

}  // namespace nsnet
